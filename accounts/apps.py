from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Accounts and organizations")

    def ready(self) -> None:
        from accounts import services
        from core import crypto

        # The MFA seeds allauth stores are encrypted (adapters.MFAAdapter), not in
        # an EncryptedTextField: `manage.py encryption_rotate` learns of them here.
        crypto.register_rotation(
            "mfa.Authenticator.data", services.mfa_secrets_reencrypt
        )
