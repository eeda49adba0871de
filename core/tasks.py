"""Background jobs of the core app."""

from __future__ import annotations

from celery import shared_task

from core import jobs


@shared_task(
    name="core.tasks.outbox_sweep",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=50,
    time_limit=60,
    ignore_result=True,
)
def outbox_sweep() -> int:
    """Send the outbox jobs still pending past the grace period (beat, every
    ``OUTBOX_SWEEP_SECONDS``)."""
    return jobs.outbox_sweep()
