"""Background jobs of the core app."""

from __future__ import annotations

from celery import shared_task

from core import jobs, mail


@shared_task(
    name="core.tasks.outbox_sweep",
    **jobs.task_options(seconds=60),
    ignore_result=True,
)
def outbox_sweep() -> int:
    """Send the outbox jobs still pending past the grace period, and forget the ones
    sent long ago (beat, every ``OUTBOX_SWEEP_SECONDS``)."""
    sent = jobs.outbox_sweep()
    jobs.outbox_purge()
    return sent


@shared_task(name="core.tasks.send_email", **jobs.EMAIL_TASK_OPTIONS)
def send_email(payload: dict) -> int:
    """Send one message queued by ``core.mail.OutboxEmailBackend`` through the real
    backend; retried with backoff while the mail server is down."""
    return mail.delivery_connection().send_messages([mail.payload_to_message(payload)])
