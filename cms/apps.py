from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CmsConfig(AppConfig):
    """Wagtail pages of the credit promotion office."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "cms"
    verbose_name = _("Content")
