"""Population stability (PSI) between a model's training sample and recent scores.

At training time each feature (and the score) is cut into ten quantile bins plus a
bin for "missing", and the share of the training sample in each bin is stored with the
model. Drift compares the shares of the last 30 days of scores with them:

    PSI = Σ (actual − expected) · ln(actual / expected)

A PSI under 0.10 is stable, 0.10–0.25 is worth watching, above 0.25 the population has
shifted and the model should be reviewed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from django.utils import timezone

WATCH, ALERT = 0.10, 0.25
EPSILON = 1e-4
BINS = 10


def reference_bins(values: np.ndarray) -> dict:
    """Quantile edges and shares (the last share is "missing") of a training column."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    edges = (
        np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)[1:-1]))
        if finite.size
        else np.array([])
    )
    return {"edges": [float(e) for e in edges], "shares": _shares(values, edges)}


def _shares(values: np.ndarray, edges: Sequence[float]) -> list[float]:
    values = np.asarray(values, dtype=float)
    total = max(len(values), 1)
    finite = values[np.isfinite(values)]
    counts = np.bincount(
        np.searchsorted(np.asarray(edges), finite, side="right"),
        minlength=len(edges) + 1,
    )
    return [float(c) / total for c in counts] + [
        float(np.sum(~np.isfinite(values))) / total
    ]


def psi(reference: dict, values: np.ndarray) -> float:
    expected = np.asarray(reference["shares"], dtype=float)
    actual = np.asarray(_shares(values, reference["edges"]), dtype=float)
    expected, actual = np.clip(expected, EPSILON, None), np.clip(actual, EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def level(value: float) -> str:
    if value >= ALERT:
        return "alert"
    if value >= WATCH:
        return "watch"
    return "stable"


def model_drift(model, *, days: int = 30, now: dt.datetime | None = None) -> dict:
    """PSI per feature and on the score for the model's scores of the last ``days``."""
    from scoring.models import CreditScore, FeatureSet

    since = (now or timezone.now()) - dt.timedelta(days=days)
    rows = list(
        CreditScore.objects.filter(
            model_version=model, created_at__gte=since
        ).values_list(
            "feature_vector__feature_set_id", "feature_vector__values", "score"
        )
    )
    reference = model.training_summary.get("reference", {})
    result = {"scores": len(rows), "since": since, "features": [], "score": None}
    if not rows or not reference:
        return result
    # The scores' feature vectors, as one matrix per feature set they were stored in.
    names_of = dict(
        FeatureSet.objects.filter(pk__in={r[0] for r in rows}).values_list(
            "pk", "names"
        )
    )
    matrices = {
        key: np.frombuffer(
            b"".join(bytes(r[1]) for r in rows if r[0] == key), dtype="<f8"
        ).reshape(-1, len(names))
        for key, names in names_of.items()
    }
    for name, ref in reference.get("features", {}).items():
        values = np.concatenate(
            [
                matrix[:, names_of[key].index(name)]
                if name in names_of[key]
                else np.full(len(matrix), np.nan)
                for key, matrix in matrices.items()
            ]
        )
        value = psi(ref, values)
        result["features"].append(
            {"name": name, "psi": round(value, 4), "level": level(value)}
        )
    score_value = psi(reference["score"], np.array([r[2] for r in rows], dtype=float))
    result["score"] = {"psi": round(score_value, 4), "level": level(score_value)}
    result["features"].sort(key=lambda item: -item["psi"])
    return result
