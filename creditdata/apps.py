from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditDataConfig(AppConfig):
    """Public credit records, the provider client and its sandbox, ingestion."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "creditdata"
    verbose_name = _("Public credit data")
