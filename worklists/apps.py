from django.apps import AppConfig


class WorklistsConfig(AppConfig):
    name = "worklists"
    verbose_name = "Work queues and work items"

    def ready(self) -> None:
        # Every installed app's follow-up rules (``<app>/followups.py``), like admin.autodiscover.
        from worklists.registry import autodiscover

        autodiscover()
