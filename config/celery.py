"""The Celery application. Tasks use ``core.tasks.ActorTask`` unless they say otherwise."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pfs", task_cls="core.tasks:ActorTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
