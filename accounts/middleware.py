"""Second factor for staff: bank, promotion-office and platform users must set up TOTP
before any page other than the setup itself, logout and the language switch."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.selectors import user_has_totp, user_requires_mfa

#: URL names a staff user without TOTP may still reach.
ALLOWED_URL_NAMES = frozenset(
    {
        "mfa_activate_totp",
        "mfa_index",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
        "mfa_authenticate",
        "mfa_reauthenticate",
        "account_logout",
        "account_reauthenticate",
        "account_email",
        "account_confirm_email",
        "account_email_verification_sent",
        "set_language",
        "healthz",
        "javascript-catalog",
    }
)
ALLOWED_PATH_PREFIXES = ("/static/", "/media/", "/healthz")


class RequireStaffMFAMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.path.startswith(ALLOWED_PATH_PREFIXES):
            return None
        match = request.resolver_match
        if match is not None and match.url_name in ALLOWED_URL_NAMES:
            return None
        if not user_requires_mfa(user=user) or user_has_totp(user=user):
            return None
        if request.headers.get("accept", "").startswith("application/json"):
            return HttpResponse(
                _("Two-factor authentication must be set up first."), status=403
            )
        messages.warning(
            request,
            _(
                "Your role gives access to other organizations' data: set up an "
                "authenticator app (TOTP) before you continue."
            ),
        )
        return HttpResponseRedirect(reverse("mfa_activate_totp"))
