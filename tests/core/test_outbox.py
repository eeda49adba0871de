"""The outbox: a job is written with the change that causes it, and a broker that is
down at commit delays it instead of losing it."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from django.urls import reverse

from core import jobs
from core.models import OutboxJob, OutboxStatus
from creditdata.models import IngestionRun, IngestionStatus
from creditdata.synthetic import synthetic_uscc
from scoring.models import FeatureVector
from tests.factories.borrowers import enterprise_with_owner, grant

pytestmark = pytest.mark.django_db


def _sme(client, index=41):
    enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(index))
    grant(enterprise, owner)
    client.force_login(owner)
    return enterprise, owner


def test_a_pull_requested_while_the_broker_is_down_answers_normally_and_is_kept(
    client, broker_down, django_capture_on_commit_callbacks
):
    enterprise, _owner = _sme(client)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("creditdata:pull_now"))
    assert time.monotonic() - started < 5  # the publish retry gives up quickly
    assert response.status_code == 302
    run = IngestionRun.objects.get(enterprise=enterprise)
    assert run.status == IngestionStatus.PENDING
    job = OutboxJob.objects.get()
    assert (job.task, job.args, job.status, job.send_attempts) == (
        "creditdata.tasks.ingest_run",
        [run.pk],
        OutboxStatus.PENDING,
        1,
    )
    assert job.last_error  # the broker's refusal, kept for the operator
    # Still down: the sweeper sends nothing and keeps the job.
    assert jobs.outbox_sweep(grace_seconds=0) == 0
    assert OutboxJob.objects.get().status == OutboxStatus.PENDING


def test_the_sweeper_sends_the_kept_job_once_the_broker_is_back_and_its_follow_up_runs(
    client, broker_down, django_capture_on_commit_callbacks
):
    enterprise, _owner = _sme(client, index=42)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("creditdata:pull_now"))
    run = IngestionRun.objects.get(enterprise=enterprise)
    # The broker is back (here: the embedded, eager one).
    broker_down.conf.task_always_eager = True
    assert jobs.outbox_sweep(grace_seconds=3600) == 0  # within the grace period: wait
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.outbox_sweep(grace_seconds=0) == 1
    run.refresh_from_db()
    assert run.status == IngestionStatus.SUCCEEDED
    # The pull's follow-up went through the outbox too, and ran.
    assert sorted(OutboxJob.objects.values_list("task", "status")) == [
        ("creditdata.tasks.ingest_run", OutboxStatus.SENT),
        ("scoring.tasks.refresh_and_score", OutboxStatus.SENT),
    ]
    assert FeatureVector.objects.filter(enterprise=enterprise).count() == 1
    # Nothing left to send: a second sweep sends nothing again.
    assert jobs.outbox_sweep(grace_seconds=0) == 0


def test_a_job_of_a_rolled_back_change_is_never_sent(
    django_capture_on_commit_callbacks,
):
    from django.db import transaction

    from scoring.tasks import refresh_features

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        jobs.enqueue(refresh_features, [1], "2026-01-01")
        raise RuntimeError("the change failed")
    assert callbacks == []
    assert OutboxJob.objects.count() == 0


def test_a_provider_retry_after_a_broker_outage_is_not_lost(
    client, broker_down, django_capture_on_commit_callbacks, settings
):
    """The provider's webhook is answered 200 and its pull kept: the provider does not
    need to retry, so its retry being refused as a replay loses nothing."""
    import json

    from core import signing

    enterprise, _owner = _sme(client, index=43)
    body = json.dumps(
        {
            "id": "evt_outage",
            "type": "records.updated",
            "data": {"uscc": enterprise.uscc, "category": "tax"},
        }
    ).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/webhooks/provider/",
            body,
            content_type="application/json",
            headers={
                signing.HEADER_NAME: signing.sign(
                    settings.CREDIT_PROVIDER_WEBHOOK_SECRET, body
                )
            },
        )
    assert response.status_code == 200
    run = IngestionRun.objects.get(enterprise=enterprise)
    assert OutboxJob.objects.get().args == [run.pk]
    broker_down.conf.task_always_eager = True
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.outbox_sweep(grace_seconds=0) == 1
    run.refresh_from_db()
    assert run.status == IngestionStatus.SUCCEEDED


def test_the_sweep_task_forgets_jobs_sent_long_ago_and_keeps_the_rest(settings):
    import datetime as dt

    from django.utils import timezone

    from core.tasks import outbox_sweep

    now = timezone.now()
    old = OutboxJob.objects.create(
        task="x", status=OutboxStatus.SENT, sent_at=now - dt.timedelta(days=8)
    )
    recent = OutboxJob.objects.create(
        task="x", status=OutboxStatus.SENT, sent_at=now - dt.timedelta(days=6)
    )
    waiting = OutboxJob.objects.create(
        task="x", created_at=now - dt.timedelta(days=30), available_at=now
    )
    settings.OUTBOX_KEEP_DAYS = 7
    with mock.patch.object(jobs, "outbox_sweep", return_value=0):
        outbox_sweep.apply()
    assert sorted(OutboxJob.objects.values_list("pk", flat=True)) == sorted(
        [recent.pk, waiting.pk]
    )
    assert not OutboxJob.objects.filter(pk=old.pk).exists()
