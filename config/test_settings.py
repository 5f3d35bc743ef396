"""Test settings: the real settings with faster hashing and in-memory mail and cache."""

import os

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
DEMO_PASSWORD = "demo-pass-2026"

# Each test process gets its own queue (and broker folder without Redis), so a worker
# started by a test never takes messages of a running dev worker or another process.
import tempfile  # noqa: E402
import uuid  # noqa: E402

CELERY_TASK_DEFAULT_QUEUE = f"pfs-test-{uuid.uuid4().hex[:8]}"
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    _broker = tempfile.mkdtemp(prefix="pfs-test-broker-")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": f"{_broker}/queue",
        "data_folder_out": f"{_broker}/queue",
        "control_folder": f"{_broker}/control",
        "processed_folder": f"{_broker}/processed",
        "store_processed": False,
    }
# Serve static files from the finders: tests never run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
