"""Validation metrics every scoring model reports the same way.

Model cards, reports and benchmarks all quote these, so they live in one place with one
definition each: ``y`` is 1 for a bad (defaulted) borrower, ``p`` the predicted
probability of default. :func:`summary` returns plain JSON types (floats rounded to six
places, undefined values as ``None``) so it can go straight into ``model_card.json``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

#: Grades in report order (best first), matching the default points scale.
GRADES: tuple[str, ...] = ("A", "B", "C", "D")


def _arrays(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y, dtype=float).ravel()
    p_arr = np.asarray(p, dtype=float).ravel()
    if y_arr.shape != p_arr.shape:
        raise ValueError(f"y has {y_arr.size} values but p has {p_arr.size}")
    return y_arr, p_arr


def _two_classes(y: np.ndarray) -> bool:
    return bool(y.size) and 0 < y.sum() < y.size


def auc(y: Any, p: Any) -> float:
    """Area under the ROC curve (ties count half); NaN when only one class."""
    y_arr, p_arr = _arrays(y, p)
    if not _two_classes(y_arr):
        return math.nan
    return float(roc_auc_score(y_arr, p_arr))


def ks(y: Any, p: Any) -> float:
    """Kolmogorov–Smirnov statistic: the largest ``|TPR − FPR|`` over thresholds."""
    y_arr, p_arr = _arrays(y, p)
    if not _two_classes(y_arr):
        return math.nan
    fpr, tpr, _ = roc_curve(y_arr, p_arr, drop_intermediate=False)
    return float(np.max(np.abs(tpr - fpr)))


def brier(y: Any, p: Any) -> float:
    """Mean squared error of the probabilities (lower is better)."""
    y_arr, p_arr = _arrays(y, p)
    if not y_arr.size:
        return math.nan
    return float(np.mean((p_arr - y_arr) ** 2))


def ece(y: Any, p: Any, bins: int = 10) -> float:
    """Expected calibration error over equal-frequency bins.

    Rows are sorted by ``p`` and cut into ``bins`` groups of (nearly) equal size, so
    every bin has enough rows to measure a default rate even when predictions bunch up
    at low PDs — which equal-width bins would leave mostly empty. The result is the
    row-weighted mean of ``|observed default rate − mean predicted PD|``.
    """
    y_arr, p_arr = _arrays(y, p)
    n = y_arr.size
    if not n:
        return math.nan
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    order = np.argsort(p_arr, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, min(bins, n)):
        total += chunk.size / n * abs(y_arr[chunk].mean() - p_arr[chunk].mean())
    return float(total)


def grade_table(
    y: Any, grades: Any, order: Sequence[str] = GRADES
) -> list[dict[str, Any]]:
    """Rows, defaults and default rate per grade, best grade first.

    Every grade in ``order`` appears even when empty (``default_rate`` is then
    ``None``), so tables from different models line up row for row.
    """
    y_arr = np.asarray(y, dtype=float).ravel()
    g_arr = np.asarray(grades).astype(str).ravel()
    if y_arr.shape != g_arr.shape:
        raise ValueError(f"y has {y_arr.size} values but grades has {g_arr.size}")
    table = []
    for grade in order:
        mask = g_arr == grade
        n = int(mask.sum())
        defaults = int(y_arr[mask].sum())
        table.append(
            {
                "grade": grade,
                "n": n,
                "defaults": defaults,
                "default_rate": round(defaults / n, 6) if n else None,
            }
        )
    return table


def _clean(value: float) -> float | None:
    # JSON has no NaN: an undefined metric (e.g. AUC with one class) becomes null.
    return None if math.isnan(value) else round(float(value), 6)


def summary(
    y: Any, p: Any, grades: Any, order: Sequence[str] = GRADES
) -> dict[str, Any]:
    """All validation metrics in one JSON-serialisable dict."""
    y_arr, p_arr = _arrays(y, p)
    return {
        "n": int(y_arr.size),
        "bad_rate": _clean(float(y_arr.mean()) if y_arr.size else math.nan),
        "auc": _clean(auc(y_arr, p_arr)),
        "ks": _clean(ks(y_arr, p_arr)),
        "brier": _clean(brier(y_arr, p_arr)),
        "ece": _clean(ece(y_arr, p_arr)),
        "grade_table": grade_table(y_arr, grades, order),
    }
