"""allauth hooks: what happens at login, and where each role lands."""

from __future__ import annotations

import time

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from django.http import HttpRequest

from accounts import services
from accounts.selectors import user_has_totp, user_requires_mfa


class AccountAdapter(DefaultAccountAdapter):
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
