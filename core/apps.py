from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import audit, signals  # noqa: F401  (connect history and worker signals)

        # kombu's filesystem transport fails on a missing folder instead of creating it;
        # web, worker and beat all pass through here before they touch the broker.
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
                Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key]).mkdir(parents=True, exist_ok=True)
