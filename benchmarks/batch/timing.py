"""Pairing end-to-end and raw passes, their ratios and medians, and the report.

This machine's speed drifts by ±20 % over minutes: every end-to-end pass is followed
by one raw xgboost pass on the same matrix, and each pair gives one ratio
``raw time / end-to-end time``; the passes are summed up by the lower median ratio.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from .stages import STAGES

#: End to end at least half as fast as raw xgboost.
TARGET_RATIO = 0.5


@contextmanager
def timed(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"{label}: {time.perf_counter() - started:,.1f} s")


def ratio(run: dict) -> float:
    """Of one pass: its paired raw time over its end-to-end time."""
    return run["raw"] / run["seconds"]


def lower_median(values: Sequence[float]) -> float:
    """The median of an odd number; of an even number, the lower middle one (not
    the best)."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def report_pass(title: str, run: dict, rows: str) -> None:
    """One end-to-end pass with its paired raw pass."""
    print(
        f"{title}: {run['seconds']:,.2f} s, "
        f"{run['scored'] / run['seconds']:,.0f} enterprises/s "
        f"({rows}); raw xgboost "
        f"{run['raw']:.2f} s; ratio {ratio(run):.3f}"
    )


def report_raw(matrix, raw_times: list[float]) -> None:
    n = len(matrix)
    print(
        f"\nraw xgboost on the same {n:,} × {matrix.shape[1]} matrix, "
        f"{len(raw_times)} more passes: "
        + ", ".join(f"{t:.2f}" for t in raw_times)
        + f" s → {n / statistics.median(raw_times):,.0f} enterprises/s"
    )


def report_passes(label: str, passes: list[dict], n: int) -> None:
    """The median time of a series of paired passes and their lower median ratio."""
    if not passes:
        return
    ratios = sorted(ratio(run) for run in passes)
    median = lower_median(ratios)
    seconds = statistics.median(run["seconds"] for run in passes)
    print(
        f"end to end, {label}: median {seconds:.2f} s "
        f"({n / seconds:,.0f} enterprises/s); ratio raw/e2e by pass "
        + ", ".join(f"{r:.3f}" for r in ratios)
        + f" → median {median:.3f} (target ≥ {TARGET_RATIO}: "
        f"{'met' if median >= TARGET_RATIO else 'NOT met'})"
    )


def report_stages(stages: dict[str, float], first: float, n: int) -> None:
    """The first one-process pass's time (``first`` seconds, ``n`` enterprises) by
    stage, and what no stage accounts for."""
    print(f"\nend-to-end time by stage (one process, pass #1, {first:.2f} s):")
    accounted = 0.0
    for key, _name, label in STAGES:
        seconds = stages.get(key, 0.0)
        accounted += seconds
        print(
            f"  {label:<48} {seconds:8.2f} s  {100 * seconds / first:5.1f} %"
            f"  {1e6 * seconds / n:7.1f} µs/enterprise"
        )
    other = first - accounted
    print(
        f"  {'other (commit: foreign-key checks; loop)':<48} "
        f"{other:8.2f} s  {100 * other / first:5.1f} %"
    )
    print(f"  {'total':<48} {first:8.2f} s")
