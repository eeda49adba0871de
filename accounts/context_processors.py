"""Navigation that follows the user's roles, available to every template."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import OrganizationKind
from accounts.selectors import user_kinds

PORTALS = [
    (OrganizationKind.ENTERPRISE, "accounts:portal_enterprise", _("My enterprise")),
    (OrganizationKind.LENDER, "accounts:portal_lender", _("Bank portal")),
    (
        OrganizationKind.PROMOTION_OFFICE,
        "accounts:portal_office",
        _("Promotion office"),
    ),
    (OrganizationKind.PLATFORM, "accounts:portal_operator", _("Operator console")),
]


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        kinds = user_kinds(user=user)
        items = [
            {"url": reverse(url_name), "label": label, "kind": kind}
            for kind, url_name, label in PORTALS
            if kind in kinds
        ]
    return {"portal_nav": items}
