"""Background jobs of the lenders app."""

from __future__ import annotations

from celery import shared_task

from core import jobs
from lenders import webhooks


@shared_task(
    bind=True,
    name="lenders.tasks.deliver_webhook",
    **jobs.task_options(seconds=60),
)
def deliver_webhook(self, delivery_pk: int, manual: bool = False) -> str:
    """POST one webhook delivery; a retryable failure is retried by Celery.

    The countdown (capped exponential backoff, full jitter, at least a ``Retry-After``)
    is decided by ``webhooks.attempt_delivery`` in the transaction that logs the
    attempt, so ``next_attempt_at`` shows the real schedule. ``max_retries`` is read at
    run time (``WEBHOOK_MAX_ATTEMPTS`` − 1) and ``attempt_delivery`` stops asking for a
    retry once it is reached, so ``self.retry`` never raises MaxRetriesExceededError.
    """
    outcome, countdown = webhooks.attempt_delivery(
        delivery_pk, manual=manual, retries=self.request.retries
    )
    if outcome == webhooks.RETRY:
        raise self.retry(countdown=countdown, max_retries=webhooks.max_retries())
    return outcome
