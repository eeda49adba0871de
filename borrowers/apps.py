from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BorrowersConfig(AppConfig):
    """Enterprises (SMEs), their consents, access log, financing demands and objections."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "borrowers"
    verbose_name = _("Borrowers")
