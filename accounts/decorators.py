"""Who may open a page: checks every app's views share (they take the request)."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.models import Membership, OrganizationKind


def operator_membership(request: HttpRequest) -> Membership:
    """The user's platform-operator membership; 404 for anyone else (operator pages
    in every app use this, so "who is an operator" is decided in one place)."""
    membership = selectors.membership_for(
        user=request.user, kind=OrganizationKind.PLATFORM
    )
    if membership is None:
        raise Http404(_("Only platform operators may see this page."))
    return membership
