"""Background jobs of the creditdata app. Each takes primary keys and calls one service
or one workflow step."""

from __future__ import annotations

from celery import shared_task

from core import jobs
from workflows import credit_data


@shared_task(
    name="creditdata.tasks.ingest_run",
    **jobs.task_options(seconds=5 * 60),
)
def ingest_run(run_pk: int) -> str | None:
    """Pull one enterprise's consented categories. Idempotent: a finished run is skipped,
    a redelivered one starts again and upserts the same rows. A successful pull
    refreshes the enterprise's features and scores it (``workflows.credit_data.pull_execute``)."""
    run = credit_data.pull_execute(run_pk=run_pk)
    return None if run is None else run.status
