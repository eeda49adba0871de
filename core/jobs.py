"""Starting background jobs: every job the platform starts goes through ``enqueue``.

A job is sent to the broker only once the transaction that caused it has committed
(``transaction.on_commit``), so a worker never sees a row that was rolled back, nor
runs before the row it needs is visible. Outside a transaction it is sent at once.

Every workflow and service enqueues through this one function, so the delivery
guarantee is decided here, in one place: the durable outbox with its sweeper (the
next step, see docs/architecture.md) replaces the body of this function and no caller.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.db import transaction


def enqueue(
    task: Any, *args: Any, countdown: float | None = None, **kwargs: Any
) -> None:
    """Send ``task`` with these arguments after the current transaction commits."""
    options = {} if countdown is None else {"countdown": countdown}

    def send() -> None:
        task.apply_async(args=args, kwargs=kwargs, **options)

    transaction.on_commit(send)


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
