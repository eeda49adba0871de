"""Reads of stored scores for the operator's pages, each bounded whatever the volume.

The drift page reads a model's recent scores through these: the score column is
binned in the database (one aggregate row), the feature vectors (binary blobs the
database cannot look into) are read for at most a fixed number of the latest scores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from itertools import pairwise

from django.db.models import Count, Q, QuerySet

from scoring.models import CreditScore, FeatureSet, ModelVersion

_INF = float("inf")
#: A finite score: NULL, NaN (which PostgreSQL orders above +∞) and ±∞ all fail it,
#: as ``numpy.isfinite`` does for the PSI in Python.
_FINITE = Q(score__gt=-_INF) & Q(score__lt=_INF)


def champion_exists() -> bool:
    return ModelVersion.objects.filter(is_champion=True).exists()


def latest_score(*, enterprise_pk: int) -> CreditScore | None:
    return (
        CreditScore.objects.filter(enterprise_id=enterprise_pk)
        .select_related("model_version")
        .order_by("-created_at", "-pk")
        .first()
    )


def recent_scores(*, model: ModelVersion, since: dt.datetime) -> QuerySet[CreditScore]:
    """The model's scores made since ``since`` (index ``scoring_score_model_time``)."""
    return CreditScore.objects.filter(model_version=model, created_at__gte=since)


def score_bin_counts(
    *, model: ModelVersion, since: dt.datetime, edges: Sequence[float] | None
) -> tuple[int, list[int]]:
    """How many scores the model made since ``since`` and, when ``edges`` are given,
    how many finite ones fall in each bin they cut (``numpy.searchsorted(edges, v,
    side="right")``: bin ``i`` holds ``edges[i-1] <= v < edges[i]``), in one query.

    The non-finite scores are the total less the sum of the bins."""
    bins: dict[str, Count] = {}
    if edges is not None:
        bounds = [None, *edges, None]
        for i, (low, high) in enumerate(pairwise(bounds)):
            condition = _FINITE
            if low is not None:
                condition &= Q(score__gte=low)
            if high is not None:
                condition &= Q(score__lt=high)
            bins[f"bin_{i}"] = Count("pk", filter=condition)
    row = recent_scores(model=model, since=since).aggregate(total=Count("pk"), **bins)
    return row["total"], [row[f"bin_{i}"] for i in range(len(bins))]


def feature_vector_sample(
    *, model: ModelVersion, since: dt.datetime, limit: int
) -> list[tuple[str, bytes]]:
    """(feature set key, vector bytes) of the model's latest ``limit`` scores since
    ``since``: newest first, chosen and cut in the database (``LIMIT``)."""
    return list(
        recent_scores(model=model, since=since)
        .order_by("-created_at", "-pk")
        .values_list("feature_vector__feature_set_id", "feature_vector__values")[:limit]
    )


def feature_set_names(*, keys: Iterable[str]) -> dict[str, list[str]]:
    return dict(FeatureSet.objects.filter(pk__in=set(keys)).values_list("pk", "names"))
