"""Population stability (PSI) between a model's training sample and recent scores.

At training time each feature (and the score) is cut into ten quantile bins plus a
bin for "missing", and the share of the training sample in each bin is stored with the
model. Drift compares the shares of the last 30 days of scores with them:

    PSI = Σ (actual − expected) · ln(actual / expected)

A PSI under 0.10 is stable, 0.10–0.25 is worth watching, above 0.25 the population has
shifted and the model should be reviewed.

What the page reads is bounded, however many scores the window holds:

* the score's PSI is over every score of the window, exactly: its bins are counted by
  the database (``Count`` per bin, one aggregate row);
* the features' PSIs are over a sample: the feature vectors of the latest
  ``FEATURE_SAMPLE`` scores of the window (features are stored as float64 blobs the
  database cannot bin). Below that many scores the sample is every score, and the
  figures are those of reading them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.utils import timezone

from scoring.features import FEATURES

WATCH, ALERT = 0.10, 0.25
EPSILON = 1e-4
BINS = 10
#: At most this many feature vectors (of the latest scores) are read for the features'
#: PSIs; read when the page is computed, so a test may lower it.
FEATURE_SAMPLE = 5_000


#: What the operator reads for each feature (its translated label; the name beside it).
_LABELS = {feature.name: feature.label for feature in FEATURES}


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


def _shares(values: np.ndarray, edges: Sequence[float] | np.ndarray) -> list[float]:
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


def _shares_of_counts(counts: Sequence[int], total: int) -> list[float]:
    """Shares of finite values per bin, then the missing share, from bin counts (the
    values not in a bin are the missing ones), as ``_shares`` computes them."""
    denominator = max(total, 1)
    return [float(c) / denominator for c in counts] + [
        float(total - sum(counts)) / denominator
    ]


def psi(reference: dict, values: np.ndarray) -> float:
    return _psi_of_shares(reference, _shares(values, reference["edges"]))


def _psi_of_shares(reference: dict, shares: Sequence[float]) -> float:
    expected = np.asarray(reference["shares"], dtype=float)
    actual = np.asarray(shares, dtype=float)
    expected, actual = np.clip(expected, EPSILON, None), np.clip(actual, EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def level(value: float) -> str:
    if value >= ALERT:
        return "alert"
    if value >= WATCH:
        return "watch"
    return "stable"


def model_drift(model, *, days: int = 30, now: dt.datetime | None = None) -> dict:
    """PSI per feature and on the score for the model's scores of the last ``days``.

    ``scores`` is how many scores the window holds, ``sample`` how many of them (the
    latest) the features' PSIs are computed over: at most ``FEATURE_SAMPLE``. Three
    queries whatever the volume (none but the count when nothing is to compare)."""
    from scoring import selectors

    since = (now or timezone.now()) - dt.timedelta(days=days)
    reference = model.training_summary.get("reference", {})
    total, score_counts = selectors.score_bin_counts(
        model=model,
        since=since,
        edges=reference["score"]["edges"] if reference else None,
    )
    result: dict[str, Any] = {
        "scores": total,
        "sample": 0,
        "since": since,
        "features": [],
        "score": None,
    }
    if not total or not reference:
        return result
    rows = selectors.feature_vector_sample(
        model=model, since=since, limit=FEATURE_SAMPLE
    )
    result["sample"] = len(rows)
    # The sampled feature vectors, as one matrix per feature set they were stored in.
    names_of = selectors.feature_set_names(keys=(r[0] for r in rows))
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
            {
                "name": name,
                "label": _LABELS.get(name, name),
                "psi": round(value, 4),
                "level": level(value),
            }
        )
    score_value = _psi_of_shares(
        reference["score"], _shares_of_counts(score_counts, total)
    )
    result["score"] = {"psi": round(score_value, 4), "level": level(score_value)}
    result["features"].sort(key=lambda item: -item["psi"])
    return result
