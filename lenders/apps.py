from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LendersConfig(AppConfig):
    """Banks, branches, the loan-product catalogue, the bank API and webhooks."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "lenders"
    verbose_name = _("Lenders")
