from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PreservationConfig(AppConfig):
    name = "preservation"
    verbose_name = _("Preservation requests")

    def ready(self):
        from preservation.core import signals  # noqa: F401  (audit of sign-in events)
        from preservation.jobs import tasks  # noqa: F401  (registers the jobs and their Celery tasks)
        # Agency mail addresses, the correspondence log and received mail (docs/correspondence.md).
        from preservation.correspondence import admin  # noqa: F401
