"""Pulling an enterprise's consented public credit data, and revoking consent.

A pull (``IngestionRun``) reads every category its consent covers, one category at a
time: fetch all pages, validate every record, then write them in one transaction that
first locks the consent row and re-checks it. Revocation locks the same row, so the
two are strictly ordered: rows written before a revocation stay (the SME consented
when they were read), and not one row is written after it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import User
from borrowers import lock_objects as borrower_lock_objects
from borrowers import selectors as borrower_selectors
from borrowers import services as borrower_services
from borrowers.exceptions import ConsentRequired, EnterpriseNotVerified
from borrowers.models import (
    AccessChannel,
    ConsentPurpose,
    CreditAuthorization,
    Enterprise,
)
from core import jobs
from core.exceptions import TooSoon
from creditdata.categories import MalformedRecord, parse_record
from creditdata.client import ProviderClient
from creditdata.exceptions import (
    ConsentWithdrawn,
    EventReplayed,
    MalformedResponse,
    ProviderError,
)
from creditdata.models import (
    RECORD_MODELS,
    DataQualityFinding,
    IngestionRun,
    IngestionStatus,
    ProviderWebhookEvent,
)
from creditdata.quality import check_records

logger = logging.getLogger(__name__)

OPEN_STATUSES = (IngestionStatus.PENDING, IngestionStatus.RUNNING)


def provider_client() -> ProviderClient:
    """The configured client; ``sandbox://`` URLs go to the in-process sandbox, the
    embedded default, through a transport adapter: the client code is the same."""
    if settings.CREDIT_PROVIDER_URL.startswith("sandbox://"):
        from creditdata.transport import SandboxSession

        return ProviderClient.from_settings(session=SandboxSession())
    return ProviderClient.from_settings()


@transaction.atomic
def ingestion_request(
    *,
    enterprise: Enterprise,
    requested_by: User | None,
    categories: list[str] | None = None,
) -> IngestionRun:
    """Queue a pull of the enterprise's data under its platform scoring consent.

    Nothing is pulled for an enterprise that has not passed real-name verification
    (``EnterpriseNotVerified``, a ``ConsentRequired``)."""
    if not borrower_selectors.enterprise_is_verified(enterprise=enterprise):
        raise EnterpriseNotVerified(
            _(
                "%(name)s is not verified yet: complete the real-name verification "
                "before any data is pulled."
            )
            % {"name": enterprise.name}
        )
    authorization = (
        borrower_selectors.active_authorizations(enterprise=enterprise)
        .filter(
            grantee=account_selectors.platform_organization(),
            purpose=ConsentPurpose.SCORING,
        )
        .order_by("-granted_at", "-pk")
        .first()
    )
    if authorization is None:
        raise ConsentRequired(
            _(
                "There is no consent in force that lets the platform read this "
                "enterprise's data; grant one first."
            )
        )
    scope = sorted(authorization.scope)
    wanted = sorted(set(categories) & set(scope)) if categories is not None else scope
    if not wanted:
        raise ConsentRequired(_("The consent does not cover any of these categories."))
    run = IngestionRun.objects.create(
        enterprise=enterprise,
        authorization=authorization,
        categories=wanted,
        requested_by=requested_by,
    )
    from creditdata.tasks import ingest_run

    jobs.enqueue(ingest_run, run.pk)
    return run


@transaction.atomic
def ingestion_request_now(
    *, enterprise: Enterprise, requested_by: User
) -> IngestionRun:
    """The owner's "refresh now": a pull, at most one at a time and one per
    ``PULL_NOW_MIN_INTERVAL_SECONDS`` per enterprise (each pull reads every category
    from the provider, whose quota the platform shares). The enterprise row is locked
    so two clicks at once make one pull."""
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    latest = (
        IngestionRun.objects.filter(enterprise=enterprise)
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is not None and latest.status in OPEN_STATUSES:
        raise TooSoon(
            _("A data pull is already in progress; this page updates when it ends."),
            retry_at=None,
        )
    if latest is not None:
        retry_at = latest.created_at + timedelta(
            seconds=settings.PULL_NOW_MIN_INTERVAL_SECONDS
        )
        if retry_at > timezone.now():
            raise TooSoon(
                _(
                    "Your data was pulled a moment ago; you can refresh it again "
                    "after %(time)s."
                )
                % {"time": timezone.localtime(retry_at).strftime("%H:%M")},
                retry_at=retry_at,
            )
    return ingestion_request(enterprise=enterprise, requested_by=requested_by)


def _progress(run: IngestionRun, results: dict[str, dict]) -> None:
    """Record how far a running pull has got, for the pull page's progress bar (one
    small update per category; the run's final state is written by ``_finish``)."""
    IngestionRun.objects.filter(pk=run.pk).update(
        category_results=results,
        records_written=run.records_written,
        updated_at=timezone.now(),
    )


def _claim(run_pk: int) -> IngestionRun | None:
    """Mark the run as running; ``None`` when it is already finished (idempotency)."""
    with transaction.atomic():
        run = IngestionRun.objects.select_for_update().filter(pk=run_pk).first()
        if run is None or run.status not in OPEN_STATUSES:
            return None
        # A redelivered task (worker lost mid-pull) starts the run again from the top:
        # the upserts below make that harmless.
        run.status = IngestionStatus.RUNNING
        run.attempts += 1
        run.started_at = run.started_at or timezone.now()
        run.save(update_fields=["status", "attempts", "started_at", "updated_at"])
        return run


def _finish(run: IngestionRun, status: str, error: str = "") -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.error = error[:4000]
    run.save(
        update_fields=[
            "status",
            "finished_at",
            "error",
            "records_written",
            "category_results",
            "updated_at",
        ]
    )


def _fetch(client: ProviderClient, uscc: str, category: str) -> list[tuple[str, dict]]:
    """Every record of the category, validated; raises before anything is written."""
    parsed = []
    for payload in client.iter_records(uscc, category):
        parsed.append(parse_record(category, payload))
    return parsed


def _write_category(
    *,
    run: IngestionRun,
    category: str,
    records: list[tuple[str, dict]],
    request_id: str,
) -> int:
    """Upsert one category's records, under a locked and re-checked consent."""
    model = RECORD_MODELS[category]
    source = settings.CREDIT_PROVIDER_NAME
    with transaction.atomic():
        authorization = borrower_lock_objects.authorization_lock(
            authorization_pk=run.authorization_id
        )
        if not borrower_selectors.authorization_is_usable(
            authorization=authorization
        ) or not authorization.covers(category):
            raise ConsentWithdrawn(category)
        now = timezone.now()
        rows = [
            model(
                enterprise_id=run.enterprise_id,
                source=source,
                source_id=source_id,
                fetched_at=now,
                ingestion_run=run,
                **fields,
            )
            for source_id, fields in records
        ]
        field_names = [
            f.name
            for f in model._meta.concrete_fields
            if f.name not in ("id", "source", "source_id", "enterprise")
        ]
        if rows:
            # The key is the enterprise's: the provider's ids are unique only per
            # enterprise, so another enterprise's row with the same id is never touched.
            model._default_manager.bulk_create(
                rows,
                batch_size=500,
                update_conflicts=True,
                unique_fields=["enterprise", "source", "source_id"],
                update_fields=field_names,
            )
        # The platform just read this category of the SME's data: log it.
        borrower_services.access_log_record(
            enterprise=run.enterprise,
            authorization=authorization,
            organization=authorization.grantee,
            category=category,
            channel=AccessChannel.INGESTION,
            request_id=request_id,
        )
        _replace_findings(run=run, category=category)
    return len(rows)


def _replace_findings(*, run: IngestionRun, category: str) -> None:
    model = RECORD_MODELS[category]
    field_names = [
        f.name
        for f in model._meta.concrete_fields
        if f.name not in ("id", "enterprise", "source", "fetched_at", "ingestion_run")
    ]
    stored = list(
        model._default_manager.filter(enterprise_id=run.enterprise_id).values(
            *field_names
        )
    )
    findings = check_records(category, stored, today=timezone.localdate())
    DataQualityFinding.objects.filter(
        enterprise_id=run.enterprise_id, category=category
    ).delete()
    DataQualityFinding.objects.bulk_create(
        DataQualityFinding(
            enterprise_id=run.enterprise_id,
            ingestion_run=run,
            category=category,
            rule=finding.rule,
            severity=finding.severity,
            message=finding.message,
            params=finding.params,
            source_ids=list(finding.source_ids),
        )
        for finding in findings
    )


def ingestion_execute(
    *,
    run_pk: int,
    client: ProviderClient | None = None,
    on_success: Callable[[IngestionRun], None] | None = None,
) -> IngestionRun | None:
    """Carry out a pull. Safe to call again for the same run (redelivery).

    ``on_success(run)`` is called inside the transaction that marks the run
    succeeded: the caller's next step (a job it enqueues) commits with that status
    or not at all, so a worker lost in between leaves nothing half done."""
    run = _claim(run_pk)
    if run is None:
        return None
    run = IngestionRun.objects.select_related("enterprise", "authorization").get(
        pk=run.pk
    )
    if not borrower_selectors.enterprise_is_verified(enterprise=run.enterprise):
        # Defence in depth: a run is only ever queued for a verified enterprise.
        run.category_results = {}
        _finish(
            run,
            IngestionStatus.CANCELLED,
            _("Cancelled: the enterprise is not verified."),
        )
        return run
    client = client or provider_client()
    results: dict[str, dict] = {}
    run.records_written = 0
    failed = False
    for category in run.categories:
        request_id = uuid.uuid4().hex
        # The consent is re-read from the database before every category: a
        # revocation stops the pull before it reads further.
        if not borrower_selectors.authorization_is_usable(
            authorization=run.authorization
        ):
            return _cancel(run, results)
        try:
            records = _fetch(client, run.enterprise.uscc, category)
        except (MalformedRecord, MalformedResponse) as error:
            failed = True
            results[category] = {"status": "malformed", "error": str(error)[:500]}
            _progress(run, results)
            logger.error(
                "ingestion run=%s category=%s: malformed provider data, nothing stored: %s",
                run.pk,
                category,
                error,
            )
            continue
        except ProviderError as error:
            failed = True
            results[category] = {"status": "provider_error", "error": str(error)[:500]}
            _progress(run, results)
            logger.error("ingestion run=%s category=%s: %s", run.pk, category, error)
            continue
        try:
            written = _write_category(
                run=run, category=category, records=records, request_id=request_id
            )
        except ConsentWithdrawn:
            return _cancel(run, results)
        results[category] = {"status": "ok", "records": written}
        run.records_written += written
        _progress(run, results)
    run.category_results = results
    if failed:
        _finish(
            run,
            IngestionStatus.FAILED,
            "; ".join(f"{c}: {r['error']}" for c, r in results.items() if "error" in r),
        )
    else:
        with transaction.atomic():
            _finish(run, IngestionStatus.SUCCEEDED)
            if on_success is not None:
                on_success(run)
    return run


def _cancel(run: IngestionRun, results: dict) -> IngestionRun:
    run.category_results = results
    _finish(
        run,
        IngestionStatus.CANCELLED,
        _("The consent was revoked or expired during the pull."),
    )
    logger.info("ingestion run=%s cancelled: consent no longer in force", run.pk)
    return run


@transaction.atomic
def ingestion_cancel_pending(*, authorization: CreditAuthorization) -> int:
    """Cancel the pulls still waiting on a consent that was revoked; returns how many.
    A pull already running stops by itself at its next consent check."""
    now = timezone.now()
    return IngestionRun.objects.filter(
        authorization=authorization, status=IngestionStatus.PENDING
    ).update(
        status=IngestionStatus.CANCELLED,
        finished_at=now,
        error=_("Cancelled: the consent was revoked."),
        updated_at=now,
    )


def provider_event_record(
    *,
    event_id: str,
    event_type: str,
    payload: dict,
    signed_at: dt.datetime,
) -> ProviderWebhookEvent:
    """Keep a verified provider event; its id is unique, so a replay is refused
    (``EventReplayed``) and nothing is stored for it."""
    try:
        with transaction.atomic():
            return ProviderWebhookEvent.objects.create(
                event_id=event_id[:100],
                event_type=event_type,
                payload=payload,
                signed_at=signed_at,
            )
    except IntegrityError:
        raise EventReplayed(event_id) from None


def provider_event_mark(*, event: ProviderWebhookEvent, runs_started: int) -> None:
    event.runs_started = runs_started
    event.save(update_fields=["runs_started"])
