"""Background jobs of the lenders app."""

from __future__ import annotations

from celery import shared_task

from lenders import webhooks


@shared_task(
    name="lenders.tasks.deliver_webhook",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=60,
    soft_time_limit=45,
)
def deliver_webhook(delivery_pk: int, manual: bool = False) -> str:
    """POST one webhook delivery; schedules its own retry with exponential backoff."""
    outcome, delay = webhooks.attempt_delivery(delivery_pk, manual=manual)
    if outcome == webhooks.RETRY:
        deliver_webhook.apply_async(args=[delivery_pk], countdown=delay)
    return outcome
