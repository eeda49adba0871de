"""allauth hooks: what happens at login, and where each role lands."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from accounts import services


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
