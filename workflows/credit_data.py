"""An enterprise's public credit data: consent → pull → features → score.

    grant (borrowers) ──platform consent──▶ pull requested (creditdata) ──job──▶
    pull executed (creditdata) ──succeeded──▶ job: features refreshed as of that day
    and the enterprise scored with the champion model (scoring), so the score
    follows the data without a click; the SME's "score now" (online) and the batch
    rescoring (scoring's Celery chunks) score from the newest features too

    revoke (borrowers) ──▶ pulls still waiting on it cancelled (creditdata) ──job──▶
    grantee notified (borrowers)

A consent to a bank starts no pull: banks read under their own consent, per
application (the marketplace's apply flow).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, OrganizationKind, User
from borrowers import services as borrower_services
from borrowers.models import CreditAuthorization, Enterprise
from core import jobs
from creditdata import services as creditdata_services
from creditdata.models import IngestionRun


@dataclass(frozen=True)
class Granted:
    authorization: CreditAuthorization
    #: The pull the grant started (a consent to the platform), else ``None``.
    run: IngestionRun | None


@transaction.atomic
def consent_grant(
    *,
    enterprise: Enterprise,
    grantee: Organization,
    purpose: str,
    categories: list[str],
    months: int,
    retention_days: int,
    granted_by: User,
    language: str,
    notice_sha256: str | None,
) -> Granted:
    """The owner grants a consent after reading its notice; a consent to the platform
    queues the first pull of the data it covers in the same transaction."""
    authorization = borrower_services.authorization_grant(
        enterprise=enterprise,
        grantee=grantee,
        purpose=purpose,
        categories=categories,
        months=months,
        retention_days=retention_days,
        granted_by=granted_by,
        language=language,
        notice_sha256=notice_sha256,
    )
    run = None
    if authorization.grantee.kind == OrganizationKind.PLATFORM:
        run = creditdata_services.ingestion_request(
            enterprise=enterprise, requested_by=granted_by
        )
    return Granted(authorization=authorization, run=run)


@transaction.atomic
def consent_revoke(
    *, authorization: CreditAuthorization, revoked_by: User, reason: str = ""
) -> CreditAuthorization:
    """Revoke a consent (effective on the very next read) and cancel the pulls still
    waiting on it; the grantee is told by email after commit."""
    revoked = borrower_services.authorization_revoke(
        authorization=authorization, revoked_by=revoked_by, reason=reason
    )
    creditdata_services.ingestion_cancel_pending(authorization=revoked)
    return revoked


def pull_execute(*, run_pk: int) -> IngestionRun | None:
    """Carry out a pull; when it succeeded, refresh the enterprise's features as of
    today and score it (a job of its own, written in the transaction that marks the
    run succeeded). Safe to call again for the same run (redelivery): a finished run
    is skipped and starts nothing."""
    return creditdata_services.ingestion_execute(run_pk=run_pk, on_success=_score_after)


def _score_after(run: IngestionRun) -> None:
    from scoring.tasks import refresh_and_score

    jobs.enqueue(refresh_and_score, run.enterprise_id, timezone.localdate().isoformat())
