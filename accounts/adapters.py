"""allauth hooks: what happens at login, and where each role lands."""

from __future__ import annotations

import time

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.adapter import DefaultMFAAdapter
from django.http import HttpRequest
from django.utils import translation

from accounts import services
from accounts.selectors import user_has_totp, user_requires_mfa
from core import crypto
from core.urls import platform_site, site_url


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """allauth's emails: in the recipient's language (the one they chose, else the
        page's they acted on), named for the platform, not "Hello from 127.0.0.1"
        (allauth's stock greeting names the request's host)."""
        user = context.get("user")
        language = getattr(user, "preferred_language", "") or translation.get_language()
        with translation.override(language):
            super().send_mail(
                template_prefix,
                email,
                {**context, "current_site": platform_site(), "site_url": site_url("/")},
            )

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return site_url(super().get_email_confirmation_url(request, emailconfirmation))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return site_url(super().get_reset_password_from_key_url(key))

    def save_user(self, request, user, form, commit=True):
        """A new user's language is the one they signed up in: later emails use it."""
        user.preferred_language = translation.get_language() or ""
        return super().save_user(request, user, form, commit=commit)

    def login(self, request: HttpRequest, user) -> None:
        super().login(request, user)
        # Invitations sent to this (verified) address become memberships now, so the
        # redirect that follows already lands on the new role's portal.
        accepted = services.invitations_accept_for_user(user=user)
        if accepted:
            from django.contrib import messages
            from django.utils.translation import gettext as _

            for membership in accepted:
                messages.success(
                    request,
                    _("You joined %(organization)s as %(role)s.")
                    % {
                        "organization": membership.organization.name,
                        "role": membership.get_role_display(),
                    },
                )

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """A staff user forced to set up TOTP right after logging in is not asked for
        the password a second time: the login itself is the recent authentication."""
        required = super().is_reauthentication_required(app=app, **kwargs)
        request = getattr(self, "request", None)
        user = getattr(request, "user", None)
        if (
            not required
            or user is None
            or not user.is_authenticated
            or "mfa" not in app
        ):
            return required
        if not user_requires_mfa(user=user) or user_has_totp(user=user):
            return required
        records = get_authentication_records(request, user)
        if (
            records
            and time.time() - records[-1]["at"]
            < account_settings.REAUTHENTICATION_TIMEOUT
        ):
            return False
        return required


class MFAAdapter(DefaultMFAAdapter):
    """Staff TOTP and recovery-code seeds are stored encrypted (``core.crypto``).

    allauth keeps them in ``Authenticator.data`` and passes each through these two
    hooks; by default they are stored in plaintext, so a database copy would let
    anyone generate a staff member's codes. Rotated with every other encrypted value
    by ``manage.py encryption_rotate`` (``services.mfa_secrets_reencrypt``).
    """

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text, where="An MFA authenticator's secret")
