"""Reads about enterprises and their consents."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Organization, OrganizationKind, User
from accounts.selectors import user_memberships
from borrowers.models import (
    ConsentNotice,
    CreditAuthorization,
    DataAccessLog,
    Enterprise,
)


def enterprise_for_user(*, user: User) -> Enterprise | None:
    """The enterprise the user belongs to (the first, if several)."""
    for membership in user_memberships(user=user):
        if membership.organization.kind == OrganizationKind.ENTERPRISE:
            return (
                Enterprise.objects.filter(organization=membership.organization)
                .select_related("organization")
                .first()
            )
    return None


def enterprise_by_uscc(*, uscc: str) -> Enterprise | None:
    return Enterprise.objects.filter(uscc=uscc).first()


def user_is_enterprise_member(*, user: User | None, enterprise: Enterprise) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return any(
        m.organization_id == enterprise.organization_id
        for m in user_memberships(user=user)
    )


def active_authorizations(
    *,
    enterprise: Enterprise | None = None,
    enterprise_ids: list[int] | None = None,
    at: datetime | None = None,
) -> QuerySet[CreditAuthorization]:
    """Consents in force now: granted, started, not ended, not revoked, current notice;
    of one enterprise, or of several (``enterprise_ids``)."""
    at = at or timezone.now()
    # The current notice as a subquery: one query in all, not one more round trip.
    current = ConsentNotice.objects.filter(published_at__lte=at).order_by(
        "-published_at", "-pk"
    )[:1]
    queryset = CreditAuthorization.objects.filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=at),
        valid_from__lte=at,
        valid_to__gt=at,
        notice=Subquery(current.values("pk")),
    )
    if enterprise is not None:
        return queryset.filter(enterprise=enterprise)
    return queryset.filter(enterprise_id__in_ids=list(enterprise_ids or []))


def authorization_for_read(
    *,
    enterprise: Enterprise,
    organization: Organization,
    category: str,
    purpose: str | None = None,
    at: datetime | None = None,
) -> CreditAuthorization | None:
    """The consent that lets ``organization`` read ``category`` now, if any.

    Evaluated against the database on every read (never cached), so a revocation takes
    effect on the very next read.
    """
    candidates = active_authorizations(enterprise=enterprise, at=at).filter(
        grantee=organization
    )
    if purpose:
        candidates = candidates.filter(purpose=purpose)
    for authorization in candidates.order_by("-granted_at", "-pk"):
        if authorization.covers(category):
            return authorization
    return None


def authorization_is_usable(*, authorization: CreditAuthorization) -> bool:
    """Re-read from the database: is this consent still in force right now?"""
    return (
        active_authorizations(enterprise=authorization.enterprise)
        .filter(pk=authorization.pk)
        .exists()
    )


def enterprise_authorizations(
    *, enterprise: Enterprise
) -> QuerySet[CreditAuthorization]:
    return (
        CreditAuthorization.objects.filter(enterprise=enterprise)
        .select_related("grantee", "granted_by", "revoked_by", "notice")
        .order_by("-granted_at", "-pk")
    )


def enterprise_access_log(*, enterprise: Enterprise) -> QuerySet[DataAccessLog]:
    return (
        DataAccessLog.objects.filter(enterprise=enterprise)
        .select_related("actor", "organization", "authorization")
        .order_by("-accessed_at", "-pk")
    )
