"""Reads about lenders and products."""

from __future__ import annotations

from accounts.models import OrganizationKind, User
from accounts.selectors import user_memberships
from lenders.models import Lender


def lender_for_user(*, user: User) -> Lender | None:
    for membership in user_memberships(user=user):
        if membership.organization.kind == OrganizationKind.LENDER:
            return Lender.objects.filter(organization=membership.organization).first()
    return None
