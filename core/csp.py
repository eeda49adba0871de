"""Content-Security-Policy: one policy per area of the site, chosen in one place.

The portal's policy (``settings.CONTENT_SECURITY_POLICY``) allows scripts and styles
from our own origin and inline blocks only with the request's nonce, so an injected
``<script>`` or ``style=`` cannot run. Two kinds of page cannot meet it, and each gets a
policy of its own from the settings instead of a hack in its view:

* the Wagtail and Django admins (``settings.CSP_PATH_POLICIES``, by path prefix):
  Wagtail's widgets render inline ``<script>`` without access to the request, so no
  nonce can be put on them, and its templates carry ``style`` attributes;
* stored documents served as they were written (``settings.CSP_VIEW_POLICIES``, by URL
  name, so both language prefixes match): the model report's inline ``<style>``;
* Wagtail's preview of a portal page (``settings.CSP_PREVIEW_DIRECTIVES``), which the
  admin shows in a frame.

A view's own django-csp decorator (``@csp``, ``@csp_replace``…) still wins over both.
"""

from __future__ import annotations

from typing import Any

from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

Directives = dict[str, Any]


def area_directives(request: HttpRequest) -> Directives | None:
    """The directives of the area ``request`` belongs to; ``None`` for the portal's.

    A path rule whose directives are ``None`` keeps the portal's policy for a page
    under an admin prefix (the admin login pages are the portal's own login view).
    """
    if getattr(request, "is_preview", False):
        # Wagtail's simulated request for the previewed page's own URL.
        return getattr(settings, "CSP_PREVIEW_DIRECTIVES", None)
    match = getattr(request, "resolver_match", None)
    if match is not None:
        view_policies: dict[str, Directives] = getattr(
            settings, "CSP_VIEW_POLICIES", {}
        )
        if match.view_name in view_policies:
            return view_policies[match.view_name]
    path = request.path_info
    for prefix, directives in getattr(settings, "CSP_PATH_POLICIES", ()):
        if path.startswith(prefix):
            return directives
    return None


class NonceAfterHeader:
    """``request.csp_nonce`` once the header is written: a nonce read then would not be
    in the policy, so rendering it raises, as django-csp's own guard does.

    django-csp's guard is a lazy object that raises on any attribute, ``__class__``
    included, so merely inspecting a finished request (``isinstance``, a debugger, a
    scan of live objects) would raise too; this one raises only when it is rendered.
    """

    def __str__(self) -> str:
        raise CSPNonceError(
            "request.csp_nonce was read after the Content-Security-Policy header was "
            "written; render it in the view's response"
        )

    def __bool__(self) -> bool:
        return False


class AreaCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policy of the request's area."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        if getattr(request, "_csp_nonce", None) is None:
            request.csp_nonce = NonceAfterHeader()  # type: ignore[attr-defined]
        return response

    def get_policy_parts(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        report_only: bool = False,
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only or parts.config is not None:
            return parts
        parts.config = area_directives(request)
        return parts
