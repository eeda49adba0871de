"""Batch scoring on Celery: the id list is cut into chunks, one task per chunk, and
each worker process loads the model once and keeps it for every chunk it scores."""

from __future__ import annotations

import datetime as dt

from celery import group, shared_task

from core import jobs
from scoring import services
from scoring.models import ModelVersion

DEFAULT_CHUNK = 5000


@shared_task(
    name="scoring.tasks.score_chunk",
    **jobs.task_options(seconds=5 * 60, once=True),
)
def score_chunk(
    enterprise_ids: list[int], model_pk: int, as_of: str | None = None
) -> int:
    model = ModelVersion.objects.get(pk=model_pk)
    return services.score_batch(
        enterprise_ids=enterprise_ids,
        model=model,
        as_of=dt.date.fromisoformat(as_of) if as_of else None,
    )


@shared_task(
    name="scoring.tasks.refresh_features",
    **jobs.task_options(seconds=5 * 60, once=True),
)
def refresh_features(enterprise_ids: list[int], as_of: str) -> int:
    """Compute and store the features of enterprises (those under a scoring consent)
    as of a date; returns how many were stored. Running it twice stores a second,
    equal vector, which scoring treats as the same features."""
    vectors = services.features_refresh(
        enterprise_ids=enterprise_ids, as_of=dt.date.fromisoformat(as_of)
    )
    return len(vectors)


@shared_task(
    name="scoring.tasks.refresh_and_score",
    **jobs.task_options(seconds=5 * 60, once=True),
)
def refresh_and_score(enterprise_id: int, as_of: str) -> int | None:
    """After a pull: the enterprise's features as of that day and its new score;
    returns the score's primary key (``None`` when there was nothing to score).
    Exactly once (``once=True``): a redelivery after the work committed does nothing."""
    score = services.enterprise_refresh_and_score(
        enterprise_pk=enterprise_id, as_of=dt.date.fromisoformat(as_of)
    )
    return score.pk if score is not None else None


def batch_score(
    enterprise_ids: list[int],
    *,
    model: ModelVersion | None = None,
    as_of: dt.date | None = None,
    chunk_size: int = DEFAULT_CHUNK,
):
    """Enqueue the scoring of ``enterprise_ids`` in chunks of 1k–10k; returns the group
    result (``.get()`` gives the count scored per chunk). Without ``as_of`` each
    enterprise is scored from its newest stored features (see
    ``services.score_enterprises``)."""
    if not 1000 <= chunk_size <= 10_000:
        raise ValueError("chunk_size must be between 1,000 and 10,000")
    model = model or services.champion()
    as_of_text = as_of.isoformat() if as_of else None
    ids = sorted(enterprise_ids)
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    return group(
        score_chunk.s(chunk, model.pk, as_of_text) for chunk in chunks
    ).apply_async()
