"""Second factor for staff: bank, promotion-office and platform users must set up TOTP
before any page other than the setup itself, logout and the language switch."""

from __future__ import annotations

from allauth.usersessions.internal import usersessionkit
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
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


class ThrottledUserSessionsMiddleware:
    """allauth's ``UserSessionsMiddleware``, writing a session's activity at most once
    per ``USERSESSIONS_TRACK_INTERVAL_SECONDS``.

    allauth updates the session's row (last seen, IP, browser) on every request of a
    signed-in user, so every page load wrote to the database; on the embedded SQLite
    default concurrent page loads then failed with "database is locked". The first
    request of a session in each interval claims it in the cache (``add`` is atomic)
    and writes; the others only read. A changed IP or browser is seen at the next
    write, at most one interval late."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if (
            user is not None
            and user.is_authenticated
            and session is not None
            and session.session_key
            and _claim_activity_write(session.session_key)
        ):
            usersessionkit.track_activity(request, user=user, session=session)
        return self.get_response(request)


def _claim_activity_write(session_key: str) -> bool:
    """True for the first request of the session in this interval. An unreachable
    cache skips the bookkeeping rather than fail the page or write every time."""
    try:
        return bool(
            cache.add(
                f"usersessions:seen:{session_key}",
                1,
                timeout=settings.USERSESSIONS_TRACK_INTERVAL_SECONDS,
            )
        )
    except Exception:  # any cache client error: skip the bookkeeping
        return False
