"""Reads of the marketplace: applications as each side sees them, the consent an
application needs, the inbox, and (between the markers) the matching."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet

from accounts.models import User
from borrowers.models import ConsentPurpose, CreditAuthorization, Enterprise
from borrowers.selectors import active_authorizations, authorization_is_usable
from borrowers.services import DEFAULT_RETENTION_DAYS, consent_preview
from core.codes import Category
from lenders.models import Lender, LoanProduct
from marketplace.models import (
    REVIEW_STATES,
    Application,
    ApplicationDocument,
    ApplicationEvent,
    Notification,
)

#: How long an application's consent to the bank is written for. The review ends it
#: earlier (any decision, a withdrawal): "valid for the application's life".
APPLICATION_CONSENT_MONTHS = 12


def application_categories(*, product: LoanProduct) -> list[str]:
    """The data categories the bank reviews the application with: exactly the
    product's required ones (the registration record when it requires none: a bank
    always sees who applies)."""
    return sorted(set(product.required_categories or [Category.REGISTRATION]))


def application_consent_preview(
    *, enterprise: Enterprise, product: LoanProduct, language: str
) -> dict:
    """The separate authorization the SME reads before applying to ``product``."""
    return consent_preview(
        enterprise=enterprise,
        grantee=product.lender.organization,
        purpose=ConsentPurpose.LOAN_REVIEW,
        categories=application_categories(product=product),
        months=APPLICATION_CONSENT_MONTHS,
        retention_days=DEFAULT_RETENTION_DAYS,
        language=language,
    )


def scoring_consent(*, enterprise: Enterprise) -> CreditAuthorization | None:
    return (
        active_authorizations(enterprise=enterprise)
        .filter(purpose=ConsentPurpose.SCORING)
        .order_by("-granted_at", "-pk")
        .first()
    )


def _applications() -> QuerySet[Application]:
    return Application.objects.select_related(
        "enterprise", "product", "lender", "lender__organization"
    )


def enterprise_applications(*, enterprise: Enterprise) -> QuerySet[Application]:
    return _applications().filter(enterprise=enterprise).order_by("-created_at", "-pk")


def enterprise_application(
    *, enterprise: Enterprise, reference: str
) -> Application | None:
    return _applications().filter(enterprise=enterprise, reference=reference).first()


def active_application_for(
    *, enterprise: Enterprise, product: LoanProduct
) -> Application | None:
    from marketplace.models import CLOSED_STATES

    return (
        Application.objects.filter(enterprise=enterprise, product=product)
        .exclude(status__in=CLOSED_STATES)
        .first()
    )


def lender_applications(
    *,
    lender: Lender,
    status: str | None = None,
    product_pk: int | None = None,
    district: str | None = None,
    amount_min=None,
    amount_max=None,
) -> QuerySet[Application]:
    """The lender's applications, deadline first (those without one last)."""
    queryset = _applications().filter(lender=lender)
    if status:
        queryset = queryset.filter(status=status)
    if product_pk:
        queryset = queryset.filter(product_id=product_pk)
    if district:
        queryset = queryset.filter(district=district)
    if amount_min is not None:
        queryset = queryset.filter(requested_amount__gte=amount_min)
    if amount_max is not None:
        queryset = queryset.filter(requested_amount__lte=amount_max)
    return queryset.order_by(F("due_at").asc(nulls_last=True), "-submitted_at", "-pk")


def lender_application(*, lender: Lender, reference: str) -> Application | None:
    """One of the lender's applications; ``None`` (a 404) for anyone else's."""
    return _applications().filter(lender=lender, reference=reference).first()


def review_consent(*, application: Application) -> CreditAuthorization | None:
    """The consent under which the bank may read the applicant's records now, or
    ``None``: the application is no longer in review, or the consent was revoked,
    ended or expired. Read from the database on every call (never cached)."""
    if application.status not in REVIEW_STATES or application.authorization_id is None:
        return None
    authorization = application.authorization
    if authorization is None or not authorization_is_usable(
        authorization=authorization
    ):
        return None
    return authorization


def application_history(*, application: Application) -> QuerySet[ApplicationEvent]:
    return application.events.select_related("actor", "organization").order_by(
        "created_at", "pk"
    )


def application_document(
    *, application: Application, pk: int
) -> ApplicationDocument | None:
    return ApplicationDocument.objects.filter(
        pk=pk, information_request__application=application
    ).first()


def unread_count(*, user: User) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def inbox(*, user: User) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=user)
        .select_related(
            "event__application__enterprise",
            "event__application__lender__organization",
            "event__application__product",
        )
        .order_by("-created_at", "-pk")
    )


def notification_for(*, user: User, pk: int) -> Notification | None:
    return inbox(user=user).filter(pk=pk).first()


def decided_applications(
    *, decided_before: dt.datetime | None = None
) -> QuerySet[Application]:
    """Applications with a decision (for the outcomes dataset)."""
    queryset = Application.objects.filter(decided_at__isnull=False).select_related(
        "enterprise", "product", "lender"
    )
    if decided_before is not None:
        queryset = queryset.filter(decided_at__lt=decided_before)
    return queryset.order_by("decided_at", "pk")


# --- matching selectors (H1) ---
# --- end matching selectors ---
