"""Project-wide views: the language switch and the error pages."""

from __future__ import annotations

import sys

from django.conf import settings
from django.contrib import messages
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template import loader
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language``, but an unknown code or an unsafe ``next`` is said aloud.

    Django silently ignores both; a person who clicked a switcher deserves to know why
    nothing happened, and nothing (cookie, session) changes.
    """
    code = request.POST.get("language", "")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        if next_url:
            with translation.override(
                code if code in LANGUAGE_CODES else settings.LANGUAGE_CODE
            ):
                messages.warning(
                    request,
                    _("The return address was not on this site and was ignored."),
                )
        next_url = "/"
    # Messages are read on the page we return to, so they speak its language; and
    # Django resolves ``next`` in the active language, which for this unprefixed URL
    # is always the default one: use the language of ``next``'s own prefix instead, so
    # that /en/x/ switched to zh-hans becomes /x/.
    next_language = (
        translation.get_language_from_path(next_url) or settings.LANGUAGE_CODE
    )
    with translation.override(next_language):
        if code not in LANGUAGE_CODES:
            messages.error(
                request,
                _("Unknown language “%(code)s”. Choose one of: %(choices)s.")
                % {"code": code[:20], "choices": ", ".join(sorted(LANGUAGE_CODES))},
            )
            return HttpResponseRedirect(next_url)
        mutable = request.POST.copy()
        mutable["next"] = next_url
        # The stubs type ``POST`` as immutable; Django's own view only reads ``next``
        # from it, and a request's POST may be replaced by any QueryDict.
        request.POST = mutable  # type: ignore[assignment]
        return django_set_language(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", {"request_path": request.path}, status=404)


#: How long a client is told to wait when the database is down or hung.
DATABASE_RETRY_AFTER = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page; or, when what failed is the database (down, refusing, hung past
    the connect or statement timeout), a 503 with ``Retry-After``: the request was
    fine, the service is unavailable for a while."""
    # No context processors: whatever failed may fail again while rendering.
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        response = HttpResponse(loader.get_template("503.html").render({}), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
    template = loader.get_template("500.html")
    return HttpResponse(
        template.render({"LANGUAGE_CODE": settings.LANGUAGE_CODE}), status=500
    )
