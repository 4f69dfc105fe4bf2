from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PreservationConfig(AppConfig):
    name = "preservation"
    verbose_name = _("Preservation requests")

    def ready(self):
        from . import signals  # noqa: F401  (audit of sign-in events)
