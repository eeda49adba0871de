"""Reads about users, their organizations and roles."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import (
    MFA_REQUIRED_KINDS,
    Invitation,
    Membership,
    Organization,
    OrganizationKind,
    User,
)


def user_memberships(*, user: User) -> list[Membership]:
    """The user's memberships, organization loaded, in a stable order."""
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_membership_cache", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=user, organization__is_active=True)
            .select_related("organization")
            .order_by("organization__kind", "organization__name", "pk")
        )
        user._membership_cache = cached  # type: ignore[attr-defined]
    return cached


def user_kinds(*, user: User) -> set[str]:
    return {membership.organization.kind for membership in user_memberships(user=user)}


def user_requires_mfa(*, user: User) -> bool:
    """Bank, promotion-office and platform staff (and Django superusers) need TOTP."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return bool(user_kinds(user=user) & MFA_REQUIRED_KINDS)


def user_has_totp(*, user: User) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user=user, type=Authenticator.Type.TOTP
    ).exists()


def membership_for(*, user: User, kind: str) -> Membership | None:
    """The user's first membership in an organization of ``kind``, if any."""
    for membership in user_memberships(user=user):
        if membership.organization.kind == kind:
            return membership
    return None


def organization_members(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("role", "user__email")
    )


def organization_open_invitations(
    *, organization: Organization
) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organization=organization,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).select_related("invited_by")


#: Organizations a page of the operator's console lists.
ORGANIZATIONS_PER_PAGE = 50


def organizations_overview(*, kind: str | None = None) -> QuerySet[Organization]:
    """The organizations (of ``kind``, or every kind) with their member count, for the
    operator's console, in (kind, name) order: the unique index's, a total order.

    The member count is a subquery per organization shown, so a page of them costs
    the same however many organizations and members there are."""
    members = (
        Membership.objects.filter(organization=OuterRef("pk"))
        .order_by()
        .values("organization")
        .annotate(total=Count("pk"))
        .values("total")
    )
    queryset = Organization.objects.annotate(
        member_count=Coalesce(Subquery(members), 0)
    ).order_by("kind", "name")
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    return queryset


def organizations_page(*, kind: str | None, page: str | None) -> Page:
    """Page ``page`` of ``organizations_overview(kind=kind)``: a count and one slice.

    Bad page input is ``Paginator.get_page``'s: not a number is the first page, out
    of range the last one."""
    return Paginator(
        organizations_overview(kind=kind), ORGANIZATIONS_PER_PAGE
    ).get_page(page)


def organization_kind_counts() -> dict[str, int]:
    """How many organizations there are of each kind (0 for none), in one query."""
    counts = dict.fromkeys(OrganizationKind.values, 0)
    for row in (
        Organization.objects.order_by().values("kind").annotate(total=Count("pk"))
    ):
        counts[row["kind"]] = row["total"]
    return counts


def _platform_organizations() -> QuerySet[Organization]:
    return Organization.objects.filter(
        kind=OrganizationKind.PLATFORM, is_active=True
    ).order_by("pk")[:1]


def platform_organization_id() -> Subquery:
    """``platform_organization()``'s id as a subquery, for a filter (no round trip
    of its own; none matches while the organization is missing)."""
    return Subquery(_platform_organizations().values("pk"))


def platform_organization() -> Organization:
    """The platform operator's organization: the grantee of scoring consents.

    A data migration creates it; should it ever be missing (a flushed database), it is
    created again under the same name rather than failing every consent and score.
    """
    organization = _platform_organizations().first()
    if organization is None:
        from accounts.migrations import PLATFORM_NAME

        organization, _created = Organization.objects.get_or_create(
            kind=OrganizationKind.PLATFORM, name=PLATFORM_NAME
        )
    return organization
