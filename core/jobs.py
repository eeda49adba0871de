"""Starting background jobs: every job the platform starts goes through ``enqueue``.

A job is sent to the broker only once the transaction that caused it has committed
(``transaction.on_commit``), so a worker never sees a row that was rolled back, nor
runs before the row it needs is visible. Outside a transaction it is sent at once.

Every workflow and service enqueues through this one function, so the delivery
guarantee is decided here, in one place: the durable outbox with its sweeper (the
next step, see docs/architecture.md) replaces the body of this function and no caller.
"""

from __future__ import annotations

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
