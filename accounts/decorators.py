"""Who may open a page: checks every app's views share (they take the request)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.models import Membership, OrganizationKind, User


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in user of a page behind ``@login_required``.

    ``request.user`` may be anonymous in general; behind the login check it never is,
    and the services that record who acted need a ``User``. Should a page ever skip
    the login check, an anonymous visitor is refused (403) rather than passed on."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def operator_membership(request: HttpRequest) -> Membership:
    """The user's platform-operator membership; 404 for anyone else (operator pages
    in every app use this, so "who is an operator" is decided in one place)."""
    membership = selectors.membership_for(
        user=signed_in_user(request), kind=OrganizationKind.PLATFORM
    )
    if membership is None:
        raise Http404(_("Only platform operators may see this page."))
    return membership
