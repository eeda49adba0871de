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

**The broker never holds a delayed job.** A job with a countdown, and every retry
(``DurableTask.retry``: Celery's ``autoretry_for`` and ``self.retry`` both land
there), waits in the outbox with its ``available_at`` and is sent by the sweeper
once it is due. A message the broker holds unacknowledged is therefore always one a
worker is running, never one it keeps until an ETA, so the Redis transport's
``visibility_timeout`` (after which it gives the message of a worker that died to
another) only has to outlast the longest run: it is ``CELERY_TASK_TIME_LIMIT`` (the
ceiling of every task's time limit, ``task_options``) plus a margin, in
``config.settings.base``.

**Exactly once where it matters.** A message delivered again after its worker died
runs the task again. Tasks whose work is one database transaction are declared
``once=True``: the work and a ``JobCompletion`` row for its outbox job commit
together, so a second delivery finds the row and returns. The others (a pull, which
calls the provider across several transactions; a webhook or an email, which cannot
be taken back) are idempotent by their own state.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from typing import Any

from celery import Task, current_app
from celery.exceptions import Retry
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.models import JobCompletion, OutboxJob, OutboxStatus

logger = logging.getLogger(__name__)

#: Errors of a broker that cannot be reached (connection refused, timed out, DNS):
#: socket errors, and kombu's wrapper of its transports' errors.
BROKER_ERRORS: tuple[type[BaseException], ...] = (OSError, OperationalError)


#: The header that carries an outbox job's primary key to the worker.
JOB_HEADER = "outbox_job"


def enqueue(
    task: Any,
    *args: Any,
    countdown: float | None = None,
    _retries: int = 0,
    **kwargs: Any,
) -> OutboxJob:
    """Record ``task(*args, **kwargs)`` in the outbox now; send it after commit, or,
    with a ``countdown``, let the sweeper send it once it is due.

    Arguments must be JSON (primary keys, ISO dates), as every task here takes."""
    now = timezone.now()
    job = OutboxJob.objects.create(
        task=task.name,
        args=list(args),
        kwargs=kwargs,
        created_at=now,
        available_at=now + dt.timedelta(seconds=countdown or 0),
        retries=_retries,
    )
    if not countdown or task.app.conf.task_always_eager:
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
    # No countdown: a job is sent when due (see the module's docstring).
    options = {"retries": job.retries, "headers": {JOB_HEADER: job.pk}}
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


def outbox_sweep(
    *,
    grace_seconds: float | None = None,
    stuck_seconds: float | None = None,
    limit: int = 500,
) -> int:
    """Send the jobs still pending ``grace_seconds`` after they were written (the
    commit hook's own send is then over, or failed), and send again the jobs sent
    ``stuck_seconds`` ago that no worker finished; returns how many were sent.

    Rows are claimed with ``SKIP LOCKED`` so two sweepers never send the same job at
    once; the sweep stops at the first broker error (the broker is still down)."""
    grace = settings.OUTBOX_GRACE_SECONDS if grace_seconds is None else grace_seconds
    now = timezone.now()
    sent = outbox_resend_stuck(
        older_than=settings.OUTBOX_STUCK_SECONDS
        if stuck_seconds is None
        else stuck_seconds,
        limit=limit,
    )
    while sent < limit:
        with transaction.atomic():
            job = (
                OutboxJob.objects.select_for_update(skip_locked=True)
                .filter(
                    status=OutboxStatus.PENDING,
                    available_at__lte=now,
                )
                # A job sent at commit gets the grace period; a delayed one never
                # was sent and is due now.
                .filter(
                    Q(created_at__lte=now - dt.timedelta(seconds=grace))
                    | Q(available_at__gt=F("created_at"))
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


def outbox_resend_stuck(*, older_than: float, limit: int = 500) -> int:
    """Send again the jobs sent more than ``older_than`` seconds ago that have no
    ``JobCompletion``: their message was lost on the way (Redis hands a message to a
    worker before it records it as unacknowledged, and a worker killed in between
    takes it with it) or its worker died and the broker did not give it back.
    ``older_than`` is the broker's visibility timeout plus the grace period
    (``OUTBOX_STUCK_SECONDS``): a job still running, or given back by the broker, is
    done by then. Every task is idempotent, so a job sent again that was only slow
    does nothing twice. At most ``OUTBOX_MAX_RESENDS`` times, then it is left with
    its error for an operator."""
    now = timezone.now()
    sent = 0
    while sent < limit:
        with transaction.atomic():
            job = (
                OutboxJob.objects.select_for_update(skip_locked=True)
                .filter(
                    ~Exists(JobCompletion.objects.filter(job=OuterRef("pk"))),
                    status=OutboxStatus.SENT,
                    sent_at__lt=now - dt.timedelta(seconds=older_than),
                    send_attempts__lte=settings.OUTBOX_MAX_RESENDS,
                )
                .order_by("sent_at", "pk")
                .first()
            )
            if job is None:
                return sent
            logger.warning(
                "outbox job %s (%s) sent at %s never finished: sent again",
                job.pk,
                job.task,
                job.sent_at,
            )
            if job.task not in current_app.tasks or not _send(job):
                OutboxJob.objects.filter(pk=job.pk).update(
                    send_attempts=job.send_attempts + 1,
                    last_error=f"not finished after sending at {job.sent_at:%Y-%m-%d %H:%M:%S}",
                )
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


def task_options(*, seconds: int, once: bool = False) -> dict[str, Any]:
    """The options of every task: late acknowledgement, re-queued when its worker is
    lost, and a time limit of ``seconds`` — never more than ``CELERY_TASK_TIME_LIMIT``,
    the ceiling the broker's visibility timeout is derived from — with the soft limit
    (the task's chance to clean up) at four fifths of it. ``once``: see
    ``DurableTask``."""
    limit = max(2, min(seconds, settings.CELERY_TASK_TIME_LIMIT))
    return {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "time_limit": limit,
        "soft_time_limit": max(1, limit * 4 // 5),
        "once": once,
    }


class DurableTask(Task):
    """The base of every task of the project (``config.celery``).

    ``retry`` writes the retry to the outbox (due after its countdown) instead of
    handing the broker a message with an ETA; ``once = True`` makes a task's work and
    its ``JobCompletion`` one transaction, so a message delivered twice does the work
    once. Eagerly (the embedded default, most tests) both behave as Celery's own."""

    once = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        job_pk = _job_pk(self.request)
        if job_pk is None:
            return super().__call__(*args, **kwargs)
        if not self.once:
            try:
                return super().__call__(*args, **kwargs)
            finally:
                # Done, well or badly (a retry is a job of its own): not to be sent
                # again. Only a worker that died leaves the job without its mark.
                _complete(job_pk)
        if JobCompletion.objects.filter(job_id=job_pk).exists():
            logger.info("outbox job %s (%s) already done: skipped", job_pk, self.name)
            return None
        try:
            with transaction.atomic():
                result = super().__call__(*args, **kwargs)
                JobCompletion.objects.create(job_id=job_pk)
        except Retry as retry:
            if self.request.is_eager or self.app.conf.task_always_eager:
                raise  # Celery's own eager retry ran it already
            # The retry's outbox job was rolled back with the work: written again.
            with transaction.atomic():
                enqueue(
                    self,
                    *args,
                    countdown=max(1.0, float(retry.when or 0)),
                    _retries=self.request.retries + 1,
                    **kwargs,
                )
            _complete(job_pk)
            raise
        except IntegrityError:
            # Another delivery of the same job committed first: this one's work is
            # rolled back with it. (A job purged meanwhile has no row to refer to.)
            if JobCompletion.objects.filter(job_id=job_pk).exists() or not (
                OutboxJob.objects.filter(pk=job_pk).exists()
            ):
                logger.info(
                    "outbox job %s (%s) done twice: rolled back", job_pk, self.name
                )
                return None
            raise
        return result

    def retry(  # type: ignore[override]
        self,
        args: Any = None,
        kwargs: Any = None,
        exc: BaseException | None = None,
        throw: bool = True,
        eta: dt.datetime | None = None,
        countdown: float | None = None,
        max_retries: int | None = None,
        **options: Any,
    ) -> Retry:
        request = self.request
        if (
            request.called_directly
            or request.is_eager
            or self.app.conf.task_always_eager
        ):
            return super().retry(
                args, kwargs, exc, throw, eta, countdown, max_retries, **options
            )
        max_retries = self.max_retries if max_retries is None else max_retries
        if max_retries is not None and request.retries >= max_retries:
            if exc is not None:
                raise exc
            raise self.MaxRetriesExceededError(
                f"Can't retry {self.name}[{request.id}] args:{request.args} "
                f"kwargs:{request.kwargs}"
            )
        if eta is not None:
            countdown = (eta - timezone.now()).total_seconds()
        countdown = self.default_retry_delay if countdown is None else countdown
        with transaction.atomic():
            enqueue(
                self,
                *(request.args if args is None else args),
                countdown=max(1.0, float(countdown or 0)),
                _retries=request.retries + 1,
                **(request.kwargs if kwargs is None else kwargs),
            )
        retry = Retry(exc=exc, when=countdown)
        if throw:
            raise retry
        return retry


#: Options of every task that sends an email. It is retried when the mail server is
#: down, restarting or slow — with exponential backoff (30 s, 1 min, 2 min, … up to
#: 30 min) and full jitter, five times, each retry waiting in the outbox — and never
#: for anything that fails the same way on every try (a bad template, a missing row,
#: a recipient the server refuses). ``socket.timeout`` is an alias of ``TimeoutError``.
EMAIL_TASK_OPTIONS: dict[str, Any] = {
    **task_options(seconds=120),
    "autoretry_for": (smtplib.SMTPException, ConnectionError, TimeoutError),
    "dont_autoretry_for": (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused),
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 5,
}


def _complete(job_pk: int) -> None:
    try:
        if OutboxJob.objects.filter(pk=job_pk).exists():
            JobCompletion.objects.get_or_create(job_id=job_pk)
    except DatabaseError:
        # The database is what failed the task, most likely: the job keeps no mark
        # and the sweeper sends it again later; the task's own error is the one to see.
        logger.warning("outbox job %s: could not be marked done", job_pk, exc_info=True)


def _job_pk(request: Any) -> int | None:
    value = getattr(request, JOB_HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(JOB_HEADER)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None
