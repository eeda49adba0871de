"""Broker down at commit, on PostgreSQL with a real broker and a real worker: the
request answers, the job waits in the outbox, and once the broker answers again the
sweeper sends it and the worker runs it and its follow-up."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from core import jobs
from core.models import OutboxJob, OutboxStatus
from creditdata.models import IngestionRun, IngestionStatus
from creditdata.synthetic import synthetic_uscc
from scoring.models import FeatureVector
from tests.conftest import broker_unreachable
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.workers import celery_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _wait(predicate, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not done after {timeout} s")


def test_broker_down_at_commit_then_the_sweeper_and_a_real_worker_finish_the_pull(
    postgres, client
):
    enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(44))
    grant(enterprise, owner)
    client.force_login(owner)
    with celery_worker():
        with broker_unreachable():
            response = client.post(reverse("creditdata:pull_now"))
        assert response.status_code == 302
        run = IngestionRun.objects.get(enterprise=enterprise)
        assert run.status == IngestionStatus.PENDING
        assert OutboxJob.objects.get().status == OutboxStatus.PENDING
        # The broker answers again: the sweep sends the job to the real worker.
        assert jobs.outbox_sweep(grace_seconds=0) == 1
        _wait(
            lambda: (
                IngestionRun.objects.get(pk=run.pk).status == IngestionStatus.SUCCEEDED
            )
        )
        # Its follow-up was enqueued through the outbox by the worker and ran.
        _wait(lambda: FeatureVector.objects.filter(enterprise=enterprise).exists())
    assert sorted(OutboxJob.objects.values_list("task", "status")) == [
        ("creditdata.tasks.ingest_run", OutboxStatus.SENT),
        ("scoring.tasks.refresh_and_score", OutboxStatus.SENT),
    ]
    assert IngestionRun.objects.get(pk=run.pk).attempts == 1
