"""Reads about enterprises, their real-name verification and their consents."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Organization, OrganizationKind, User
from accounts.selectors import user_memberships
from borrowers.models import (
    AttemptStatus,
    ConsentNotice,
    CreditAuthorization,
    DataAccessLog,
    Enterprise,
    EnterpriseVerification,
    VerificationMethod,
    VerificationStatus,
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


def enterprise_for_organization(*, organization: Organization) -> Enterprise | None:
    return Enterprise.objects.filter(organization=organization).first()


def enterprise_by_uscc(*, uscc: str) -> Enterprise | None:
    return Enterprise.objects.filter(uscc=uscc).first()


def enterprise_is_verified(*, enterprise: Enterprise) -> bool:
    """Re-read from the database: has the enterprise passed real-name verification?"""
    return Enterprise.objects.filter(
        pk=enterprise.pk, verification_status=VerificationStatus.VERIFIED
    ).exists()


def _attempts() -> QuerySet[EnterpriseVerification]:
    # The letter's bytes are read only by the view that serves the file.
    return EnterpriseVerification.objects.defer("letter_content").select_related(
        "enterprise", "requested_by", "reviewed_by"
    )


def verification_overview(*, enterprise: Enterprise) -> dict:
    """What the verification page and the portal show: the open code (if any), the
    newest letter and its outcome, the newest code attempt."""
    attempts = _attempts().filter(enterprise=enterprise)
    return {
        "pending_code": attempts.filter(
            method=VerificationMethod.REGISTERED_CONTACT_CODE,
            status=AttemptStatus.PENDING,
        ).first(),
        "latest_code": attempts.filter(
            method=VerificationMethod.REGISTERED_CONTACT_CODE
        ).first(),
        "latest_letter": attempts.filter(
            method=VerificationMethod.AUTHORIZATION_LETTER
        ).first(),
    }


def verification_letters_pending() -> QuerySet[EnterpriseVerification]:
    """The operators' queue: letters waiting for review, oldest first."""
    return (
        _attempts()
        .filter(
            method=VerificationMethod.AUTHORIZATION_LETTER,
            status=AttemptStatus.PENDING,
        )
        .order_by("created_at", "pk")
    )


def verification_letters_reviewed() -> QuerySet[EnterpriseVerification]:
    return (
        _attempts()
        .filter(
            method=VerificationMethod.AUTHORIZATION_LETTER,
            status__in=[AttemptStatus.CONFIRMED, AttemptStatus.REJECTED],
        )
        .order_by("-reviewed_at", "-pk")
    )


def verification_letter(*, pk: int) -> EnterpriseVerification | None:
    """One letter attempt, without its bytes."""
    return (
        _attempts()
        .filter(pk=pk, method=VerificationMethod.AUTHORIZATION_LETTER)
        .first()
    )


def verification_letter_file(*, pk: int) -> EnterpriseVerification | None:
    """One letter attempt with its bytes, for the permission-checked file view."""
    return EnterpriseVerification.objects.filter(
        pk=pk, method=VerificationMethod.AUTHORIZATION_LETTER
    ).first()


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
