"""Applying for a loan: score check → the SME's separate consent to the bank → the
application with its frozen score → inbox, email and the bank's webhook.

One transaction: the consent and the application commit together or not at all (a
refused application leaves no consent behind). An idempotency key makes a double
click or a retried request return the application the first one created, whichever
of several concurrent requests got there first.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from borrowers import selectors as borrower_selectors
from borrowers.exceptions import BorrowersError
from borrowers.models import ConsentPurpose, Enterprise
from borrowers.services import DEFAULT_RETENTION_DAYS, authorization_grant
from lenders.models import LoanProduct, ProductStatus
from marketplace import selectors, services
from marketplace.exceptions import (
    ActiveApplicationExists,
    ApplyNotPossible,
    IdempotencyKeyReused,
    InvalidApplication,
)
from marketplace.models import Application
from scoring import selectors as scoring_selectors
from scoring.exceptions import ScoringError
from scoring.models import CreditScore

IDEMPOTENCY_KEY_MAX = 100


def application_score(*, enterprise: Enterprise, user: User) -> CreditScore:
    """The score an application is made with: the latest, if the current model made
    it; else one computed on the spot. Needs the scoring consent in force."""
    if selectors.scoring_consent(enterprise=enterprise) is None:
        raise ApplyNotPossible(
            _(
                "Authorize the platform to score your enterprise first (Consents → "
                "Grant a consent, purpose “credit scoring”); then apply."
            ),
            code="scoring_consent_required",
        )
    score = scoring_selectors.latest_score(enterprise_pk=enterprise.pk)
    if score is not None and score.model_version.is_champion:
        return score
    from scoring.services import enterprise_score

    try:
        return enterprise_score(enterprise=enterprise, requested_by=user)
    except (ScoringError, BorrowersError):
        raise ApplyNotPossible(
            _(
                "Your enterprise has no current score yet: wait for the data pull to "
                "finish (My score shows its progress), then apply."
            ),
            code="score_required",
        ) from None


def _existing(enterprise: Enterprise, key: str) -> Application | None:
    return Application.objects.filter(
        enterprise=enterprise, idempotency_key=key
    ).first()


def application_apply(
    *,
    user: User,
    product: LoanProduct,
    amount: Decimal | str,
    term: int | str,
    purpose: str,
    idempotency_key: str,
    notice_sha256: str | None,
    language: str,
    ip_address: str | None = None,
    channel: str = "web",
) -> Application:
    """Submit an application for ``product`` as the enterprise ``user`` owns."""
    enterprise = borrower_selectors.enterprise_for_user(user=user)
    if enterprise is None:
        raise ApplyNotPossible(
            _("Register your enterprise before applying."), code="enterprise_required"
        )
    key = (idempotency_key or "").strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidApplication(
            {
                "idempotency_key": [
                    _("The form expired; reload the page and submit again.")
                ]
            }
        )
    existing = _existing(enterprise, key)
    if existing is not None:
        return existing
    if product.status != ProductStatus.LISTED:
        raise ApplyNotPossible(
            _("This product is not offered at the moment."), code="product_not_listed"
        )
    errors = services.application_terms_errors(
        product=product, amount=amount, term=term, purpose=purpose
    )
    if errors:
        raise InvalidApplication(errors)
    if selectors.active_application_for(enterprise=enterprise, product=product):
        raise ActiveApplicationExists(
            _("You already have an application for this product in progress."),
            field="product",
        )
    try:
        with transaction.atomic():
            score = application_score(enterprise=enterprise, user=user)
            authorization = authorization_grant(
                enterprise=enterprise,
                grantee=product.lender.organization,
                purpose=ConsentPurpose.LOAN_REVIEW,
                categories=selectors.application_categories(product=product),
                months=selectors.APPLICATION_CONSENT_MONTHS,
                granted_by=user,
                language=language,
                retention_days=DEFAULT_RETENTION_DAYS,
                notice_sha256=notice_sha256,
            )
            return services.application_submit(
                enterprise=enterprise,
                product=product,
                amount=Decimal(str(amount)).quantize(Decimal("0.01")),
                term=int(term),
                purpose=purpose,
                idempotency_key=key,
                submitted_by=user,
                authorization=authorization,
                score=score,
                ip_address=ip_address,
                channel=channel,
            )
    except IdempotencyKeyReused:
        # A concurrent request with the same key won: answer with its application.
        existing = _existing(enterprise, key)
        assert existing is not None
        return existing
