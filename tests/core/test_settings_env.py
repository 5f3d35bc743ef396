"""Malformed environment values stop start-up with a message naming the variable."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS = str(Path(__file__).resolve().parents[2] / "config" / "settings.py")
GOOD = {
    "DATABASE_URL": "postgres://u:p@db.example:5432/pfs",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "x" * 60,
}


def load(monkeypatch, **overrides):
    for key, value in {**GOOD, **overrides}.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    return runpy.run_path(SETTINGS)


def test_good_environment_loads(monkeypatch):
    settings = load(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0")
    assert settings["DATABASES"]["default"]["HOST"] == "db.example"
    assert settings["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert settings["DEBUG"] is False
    assert settings["SESSION_COOKIE_AGE"] == 15 * 60


def test_without_redis_the_broker_is_the_filesystem(monkeypatch):
    settings = load(monkeypatch, REDIS_URL=None)
    assert settings["CELERY_BROKER_URL"] == "filesystem://"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG='maybe' is not a boolean"),
        ("AXES_FAILURE_LIMIT", "five", "AXES_FAILURE_LIMIT='five' is not a whole number"),
        ("SESSION_IDLE_TIMEOUT_MINUTES", "0", "SESSION_IDLE_TIMEOUT_MINUTES=0 is below the minimum"),
        ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL must be a PostgreSQL URL"),
        ("DATABASE_URL", None, "DATABASE_URL is not set"),
        ("DJANGO_SECRET_KEY", None, "DJANGO_SECRET_KEY must be set"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL must start with redis://"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD'"),
        ("PHI_ACCESS_LOG_RETENTION_DAYS", "30", "PHI_ACCESS_LOG_RETENTION_DAYS=30 is below the minimum"),
    ],
)
def test_malformed_values_name_the_variable(monkeypatch, name, value, fragment):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        load(monkeypatch, **{name: value})
    assert fragment in str(excinfo.value)
