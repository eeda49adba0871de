"""How the outbox keeps a lost worker from delaying work for long: delays and retries
wait in the outbox (never as an ETA in the broker), every task's time limit is under
one ceiling that the broker's visibility timeout is derived from, a job no worker
finished is sent again, and a ``once`` task does its work once per job."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.celery import app
from core import jobs
from core.models import JobCompletion, OutboxJob, OutboxStatus
from scoring.tasks import refresh_features

pytestmark = pytest.mark.django_db


def test_every_task_is_durable_and_its_time_limit_is_under_the_ceiling():
    app.loader.import_default_modules()
    ours = {
        name: task for name, task in app.tasks.items() if not name.startswith("celery.")
    }
    assert len(ours) >= 9
    for name, task in ours.items():
        assert isinstance(task, jobs.DurableTask), name
        assert task.acks_late and task.reject_on_worker_lost, name
        limit = task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        assert limit <= settings.CELERY_TASK_TIME_LIMIT, name
        assert (task.soft_time_limit or 0) < limit, name


def test_the_visibility_timeout_is_the_ceiling_plus_the_margin_not_hours():
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert settings.CELERY_TASK_TIME_LIMIT == 300
    assert options["visibility_timeout"] == 300 + 60
    assert (
        options["unacked_restore_interval"],
        options["unacked_restore_throttle"],
    ) == (
        10,
        1,
    )
    assert settings.OUTBOX_STUCK_SECONDS == 360 + settings.OUTBOX_GRACE_SECONDS


def test_task_options_never_exceed_the_ceiling(settings):
    settings.CELERY_TASK_TIME_LIMIT = 20
    assert jobs.task_options(seconds=300) == {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "time_limit": 20,
        "soft_time_limit": 16,
        "once": False,
    }
    assert jobs.task_options(seconds=10, once=True)["time_limit"] == 10


@pytest.fixture
def not_eager():
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


def test_a_delayed_job_is_not_handed_to_the_broker_until_it_is_due(
    not_eager, django_capture_on_commit_callbacks
):
    with mock.patch.object(refresh_features, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.enqueue(refresh_features, [1], "2026-12-01", countdown=600)
        assert send.call_count == 0
        assert OutboxJob.objects.get(pk=job.pk).status == OutboxStatus.PENDING
        # Not due: the sweep leaves it.
        assert jobs.outbox_sweep(grace_seconds=0) == 0
        # Ten minutes later (the clock moved back instead):
        OutboxJob.objects.filter(pk=job.pk).update(
            created_at=job.created_at - dt.timedelta(seconds=601),
            available_at=job.available_at - dt.timedelta(seconds=601),
        )
        # Due: sent at once, without waiting for the grace period, and with no ETA.
        assert jobs.outbox_sweep(grace_seconds=3600) == 1
    assert send.call_args.kwargs == {
        "args": [[1], "2026-12-01"],
        "kwargs": {},
        "retries": 0,
        "headers": {"outbox_job": job.pk},
    }
    assert OutboxJob.objects.get(pk=job.pk).status == OutboxStatus.SENT


def test_a_retry_on_a_worker_waits_in_the_outbox_not_in_the_broker(not_eager):
    # What a worker's request looks like (a direct call's would be ``called_directly``).
    request = {
        "args": [[7], "2026-12-01"],
        "kwargs": {},
        "retries": 2,
        "id": "abc",
        "called_directly": False,
    }
    refresh_features.push_request(**request)
    try:
        with mock.patch.object(refresh_features, "apply_async") as send:
            before = timezone.now()
            with pytest.raises(Retry):
                refresh_features.retry(countdown=120, max_retries=5)
    finally:
        refresh_features.pop_request()
    assert send.call_count == 0
    job = OutboxJob.objects.get()
    assert (job.task, job.args, job.kwargs, job.retries, job.status) == (
        "scoring.tasks.refresh_features",
        [[7], "2026-12-01"],
        {},
        3,
        OutboxStatus.PENDING,
    )
    delay = (job.available_at - before).total_seconds()
    assert 119 <= delay <= 125


def test_a_retry_past_max_retries_raises_the_error_and_writes_nothing(not_eager):
    refresh_features.push_request(
        args=[[7], "2026-12-01"], kwargs={}, retries=5, id="x", called_directly=False
    )
    try:
        with pytest.raises(ConnectionError):
            refresh_features.retry(exc=ConnectionError("smtp down"), max_retries=5)
    finally:
        refresh_features.pop_request()
    assert OutboxJob.objects.count() == 0


def _sent_job(task_name: str, minutes_ago: int) -> OutboxJob:
    sent_at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return OutboxJob.objects.create(
        task=task_name,
        args=[[1], "2026-12-01"],
        status=OutboxStatus.SENT,
        created_at=sent_at,
        available_at=sent_at,
        sent_at=sent_at,
        send_attempts=1,
    )


def test_a_job_sent_that_no_worker_finished_is_sent_again_and_a_finished_one_is_not(
    not_eager,
):
    lost = _sent_job("scoring.tasks.refresh_features", minutes_ago=10)
    finished = _sent_job("scoring.tasks.refresh_features", minutes_ago=10)
    JobCompletion.objects.create(job=finished)
    recent = _sent_job("scoring.tasks.refresh_features", minutes_ago=1)
    with mock.patch.object(refresh_features, "apply_async") as send:
        assert jobs.outbox_sweep(stuck_seconds=5 * 60) == 1
    assert send.call_args.kwargs["headers"] == {"outbox_job": lost.pk}
    lost.refresh_from_db()
    assert (lost.status, lost.send_attempts) == (OutboxStatus.SENT, 2)
    assert lost.sent_at > timezone.now() - dt.timedelta(seconds=30)
    for untouched in (finished, recent):
        assert OutboxJob.objects.get(pk=untouched.pk).send_attempts == 1


def test_a_job_sent_again_too_often_is_left_for_an_operator(not_eager, settings):
    settings.OUTBOX_MAX_RESENDS = 3
    job = _sent_job("scoring.tasks.refresh_features", minutes_ago=10)
    OutboxJob.objects.filter(pk=job.pk).update(send_attempts=4)
    with mock.patch.object(refresh_features, "apply_async") as send:
        assert jobs.outbox_sweep(stuck_seconds=60) == 0
    assert send.call_count == 0


def test_a_once_task_delivered_twice_does_its_work_once(monkeypatch):
    job = _sent_job("scoring.tasks.refresh_features", minutes_ago=0)
    calls = []
    monkeypatch.setattr(
        "scoring.services.features_refresh",
        lambda **kwargs: calls.append(kwargs) or ["vector"],
    )
    for _delivery in range(2):
        refresh_features.push_request(outbox_job=job.pk)
        try:
            refresh_features([1], "2026-12-01")
        finally:
            refresh_features.pop_request()
    assert len(calls) == 1
    assert JobCompletion.objects.filter(job=job).count() == 1


def test_a_once_task_whose_work_fails_leaves_no_completion_and_runs_again(monkeypatch):
    job = _sent_job("scoring.tasks.refresh_features", minutes_ago=0)
    outcomes = iter([RuntimeError("database went away"), ["vector"]])

    def flaky(**kwargs):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr("scoring.services.features_refresh", flaky)
    refresh_features.push_request(outbox_job=job.pk)
    try:
        with pytest.raises(RuntimeError):
            refresh_features([1], "2026-12-01")
        assert not JobCompletion.objects.filter(job=job).exists()
        assert refresh_features([1], "2026-12-01") == 1
    finally:
        refresh_features.pop_request()
    assert JobCompletion.objects.filter(job=job).count() == 1


def test_an_ordinary_task_marks_its_job_done_even_when_it_fails():
    from accounts.tasks import send_invitation_email

    job = _sent_job("accounts.tasks.send_invitation_email", minutes_ago=0)
    send_invitation_email.push_request(outbox_job=job.pk)
    try:
        with transaction.atomic():
            assert send_invitation_email(999_999) is False  # no such invitation
    finally:
        send_invitation_email.pop_request()
    assert JobCompletion.objects.filter(job=job).count() == 1


def test_a_once_task_that_retries_keeps_its_retry_though_its_work_is_rolled_back(
    not_eager, monkeypatch
):
    job = _sent_job("scoring.tasks.refresh_features", minutes_ago=0)

    def write_then_fail(**kwargs):
        OutboxJob.objects.filter(pk=job.pk).update(last_error="half-written work")
        raise refresh_features.retry(countdown=60, max_retries=3)

    monkeypatch.setattr("scoring.services.features_refresh", write_then_fail)
    refresh_features.push_request(
        id="r",
        args=[[1], "2026-12-01"],
        kwargs={},
        retries=0,
        called_directly=False,
        outbox_job=job.pk,
    )
    try:
        with pytest.raises(Retry):
            refresh_features([1], "2026-12-01")
    finally:
        refresh_features.pop_request()
    job.refresh_from_db()
    assert job.last_error == ""  # the work was rolled back
    retry = OutboxJob.objects.exclude(pk=job.pk).get()
    assert (retry.task, retry.args, retry.retries, retry.status) == (
        "scoring.tasks.refresh_features",
        [[1], "2026-12-01"],
        1,
        OutboxStatus.PENDING,
    )
    assert JobCompletion.objects.filter(job=job).count() == 1


def test_a_task_that_fails_with_the_database_down_keeps_its_own_error(monkeypatch):
    from django.db import OperationalError

    job = _sent_job("accounts.tasks.send_invitation_email", minutes_ago=0)
    from accounts.tasks import send_invitation_email

    def database_down(*args, **kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(send_invitation_email, "run", database_down)
    monkeypatch.setattr("core.jobs.JobCompletion.objects.get_or_create", database_down)
    send_invitation_email.push_request(outbox_job=job.pk)
    try:
        with pytest.raises(OperationalError, match="server closed"):
            send_invitation_email(1)
    finally:
        send_invitation_email.pop_request()
    assert not JobCompletion.objects.filter(job=job).exists()
