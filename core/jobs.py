"""Starting background jobs durably: every job the platform starts goes through
``enqueue``, a transactional outbox.

``enqueue`` writes the job (task name and arguments) as an ``OutboxJob`` row in the
same transaction as the change that causes it, and sends it to the broker once that
transaction has committed (``transaction.on_commit``): a worker never sees a row that
was rolled back, nor runs before the row it needs is visible, and a job is never
forgotten because the broker was unreachable at that moment. If the send fails the
row stays pending, the request answers normally, and the sweeper
(``outbox_sweep``, a Celery beat job every ``OUTBOX_SWEEP_SECONDS``, also
``manage.py outbox_sweep``) sends every job still pending after a grace period.

A job may therefore run more than once (sent by the commit hook and, if the mark
"sent" was lost, by the sweeper): every task is idempotent (it re-reads its rows and
returns when the work is done), which the project's tasks already are. A follow-up
job enqueued by a task (a pull's feature refresh) goes through the same outbox, so a
worker killed between "run succeeded" and "follow-up sent" loses nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.models import OutboxJob, OutboxStatus

logger = logging.getLogger(__name__)

#: Errors of a broker that cannot be reached (connection refused, timed out, DNS):
#: socket errors, and kombu's wrapper of its transports' errors.
BROKER_ERRORS: tuple[type[BaseException], ...] = (OSError, OperationalError)


def enqueue(
    task: Any, *args: Any, countdown: float | None = None, **kwargs: Any
) -> OutboxJob:
    """Record ``task(*args, **kwargs)`` in the outbox now; send it after commit.

    Arguments must be JSON (primary keys, ISO dates), as every task here takes."""
    now = timezone.now()
    job = OutboxJob.objects.create(
        task=task.name,
        args=list(args),
        kwargs=kwargs,
        created_at=now,
        available_at=now + dt.timedelta(seconds=countdown or 0),
    )
    transaction.on_commit(lambda: _send(job, task=task))
    return job


def _task(name: str) -> Any:
    # The project's Celery app is the current one (config/__init__.py creates it);
    # core does not import config.
    return current_app.tasks[name]


def _send(job: OutboxJob, *, task: Any | None = None) -> bool:
    """Hand one job to the broker and mark it sent; ``False`` (the row stays pending,
    with the error) when the broker cannot be reached."""
    task = task or _task(job.task)
    countdown = max(0.0, (job.available_at - timezone.now()).total_seconds())
    options = {"countdown": countdown} if countdown else {}
    if task.app.conf.task_always_eager:
        # Embedded default: "sending" runs the task here and now. Marked first, so a
        # task that fails (its own error, not the broker's) is not sent again.
        _mark_sent(job)
        task.apply_async(args=job.args, kwargs=job.kwargs, **options)
        return True
    try:
        task.apply_async(args=job.args, kwargs=job.kwargs, **options)
    except BROKER_ERRORS as error:
        OutboxJob.objects.filter(pk=job.pk).update(
            send_attempts=job.send_attempts + 1,
            last_error=f"{type(error).__name__}: {error}"[:1000],
        )
        logger.warning(
            "outbox job %s (%s) not sent, the sweeper will retry: %s",
            job.pk,
            job.task,
            error,
        )
        return False
    _mark_sent(job)
    return True


def _mark_sent(job: OutboxJob) -> None:
    job.status, job.sent_at = OutboxStatus.SENT, timezone.now()
    job.send_attempts += 1
    OutboxJob.objects.filter(pk=job.pk).update(
        status=job.status, sent_at=job.sent_at, send_attempts=job.send_attempts
    )


def outbox_sweep(*, grace_seconds: float | None = None, limit: int = 500) -> int:
    """Send the jobs still pending ``grace_seconds`` after they were written (the
    commit hook's own send is then over, or failed); returns how many were sent.

    Rows are claimed with ``SKIP LOCKED`` so two sweepers never send the same job at
    once; the sweep stops at the first broker error (the broker is still down)."""
    grace = settings.OUTBOX_GRACE_SECONDS if grace_seconds is None else grace_seconds
    now = timezone.now()
    sent = 0
    while sent < limit:
        with transaction.atomic():
            job = (
                OutboxJob.objects.select_for_update(skip_locked=True)
                .filter(
                    status=OutboxStatus.PENDING,
                    available_at__lte=now,
                    created_at__lte=now - dt.timedelta(seconds=grace),
                )
                .order_by("available_at", "pk")
                .first()
            )
            if job is None:
                return sent
            if job.task not in current_app.tasks:
                OutboxJob.objects.filter(pk=job.pk).update(
                    send_attempts=job.send_attempts + 1,
                    last_error=f"unknown task {job.task!r}",
                    available_at=now + dt.timedelta(hours=1),
                )
                logger.error("outbox job %s: unknown task %s", job.pk, job.task)
                continue
            if not _send(job):
                return sent
        sent += 1
    return sent


def outbox_purge(*, keep_days: int | None = None) -> int:
    """Delete the jobs sent more than ``keep_days`` ago (``OUTBOX_KEEP_DAYS``): the
    outbox is a queue, not an archive; what a job did is in its own app's tables."""
    days = settings.OUTBOX_KEEP_DAYS if keep_days is None else keep_days
    deleted, _by_model = OutboxJob.objects.filter(
        status=OutboxStatus.SENT,
        sent_at__lt=timezone.now() - dt.timedelta(days=days),
    ).delete()
    return deleted


#: Options of every task that sends an email. It is retried when the mail server is
#: down, restarting or slow — with exponential backoff (30 s, 1 min, 2 min, … up to
#: 30 min) and full jitter, five times — and never for anything that fails the same
#: way on every try (a bad template, a missing row, a recipient the server refuses).
#: ``socket.timeout`` is an alias of ``TimeoutError``.
EMAIL_TASK_OPTIONS: dict[str, Any] = {
    "autoretry_for": (smtplib.SMTPException, ConnectionError, TimeoutError),
    "dont_autoretry_for": (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused),
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 5,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "time_limit": 120,
    "soft_time_limit": 90,
}
