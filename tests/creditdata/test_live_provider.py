"""The client reaches the sandbox provider over real HTTP, exactly as the real node.

Runs on PostgreSQL in CI; the second test also runs the pull on a real Celery worker
process, and redelivers its task to prove the rows do not change.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from core.codes import Category
from creditdata import services
from creditdata.models import RECORD_MODELS, IngestionRun, IngestionStatus
from creditdata.synthetic import records_for
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.workers import celery_worker

pytestmark = pytest.mark.django_db(transaction=True)

NEW_USCC = "91440300MA5G8KQX4K"


def _expected_counts(uscc: str) -> dict[str, int]:
    today = timezone.localdate()
    return {c: len(records_for(uscc, c, today)) for c in Category.values}


def _stored_counts(enterprise) -> dict[str, int]:
    return {
        c: RECORD_MODELS[c].objects.filter(enterprise=enterprise).count()
        for c in Category.values
    }


def _snapshot(enterprise):
    return {
        c: sorted(
            RECORD_MODELS[c]
            .objects.filter(enterprise=enterprise)
            .values_list("pk", "source_id")
        )
        for c in Category.values
    }


def test_client_pulls_a_new_uscc_from_the_sandbox_over_http(
    postgres, live_server, settings
):
    from borrowers.uscc import is_valid_uscc

    assert is_valid_uscc(NEW_USCC)
    settings.CREDIT_PROVIDER_URL = f"{live_server.url}/sandbox/provider/v1"
    enterprise, owner = enterprise_with_owner(uscc=NEW_USCC)
    grant(enterprise, owner)
    run = services.ingestion_request(enterprise=enterprise, requested_by=owner)
    run.refresh_from_db()  # the eager task ran at commit
    assert run.status == IngestionStatus.SUCCEEDED, run.error
    expected = _expected_counts(NEW_USCC)
    assert _stored_counts(enterprise) == expected
    assert sum(expected.values()) == run.records_written > 50


def test_a_real_worker_pulls_over_http_and_a_redelivered_task_changes_nothing(
    postgres, live_server
):
    from creditdata.tasks import ingest_run

    provider = f"{live_server.url}/sandbox/provider/v1"
    enterprise, owner = enterprise_with_owner(uscc=NEW_USCC)
    grant(enterprise, owner)
    with celery_worker(extra_env={"CREDIT_PROVIDER_URL": provider}) as queue:
        run = services.ingestion_request(enterprise=enterprise, requested_by=owner)
        run = _wait_for(run.pk)
        assert run.status == IngestionStatus.SUCCEEDED, run.error
        before = _snapshot(enterprise)
        # The worker died after writing but before acking: the broker redelivers.
        IngestionRun.objects.filter(pk=run.pk).update(status=IngestionStatus.RUNNING)
        ingest_run.apply_async(args=[run.pk], queue=queue).get(timeout=120)
        run = _wait_for(run.pk)
    assert run.attempts == 2
    assert _snapshot(enterprise) == before
    assert _stored_counts(enterprise) == _expected_counts(NEW_USCC)


def _wait_for(run_pk: int, timeout: float = 120) -> IngestionRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = IngestionRun.objects.get(pk=run_pk)
        if run.status not in (IngestionStatus.PENDING, IngestionStatus.RUNNING):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_pk} still {run.status} after {timeout}s")
