"""Benchmark: online scoring of one enterprise, p50/p95/p99.

On the benchmark database of ``scoring_batch.py`` (reused as loaded, whatever its
size; if it is not loaded, a small one of ``--enterprises`` enterprises is loaded the
same way), with the champion model there (trained and promoted if there is none):

* online: ``scoring.services.enterprise_score`` of one enterprise, as of 2025-12-31,
  ``--calls`` times after ``--warmup`` calls — consent check, its stored feature
  vector read from PostgreSQL, model, reason codes, the CreditScore row written,
  committed (the vectors are stored by ``scoring_batch.py``, as each pull stores
  its enterprise's) — once per xgboost thread count of ``--threads`` (default 1
  and 2), the counts taking turns call by call (``SCORING_ONLINE_NTHREAD``), so
  the machine's drift and the other processes on it weigh on each count alike;
  the model stage's p50/p95 of each count and their ratios to the first count's
  are printed;
* features from the records: ``features_refresh`` of the same enterprise — what a
  pull does once after writing its records: records read, features, the vector
  and twelve access-log rows written.

Prints p50/p95/p99 in milliseconds and each stage's median. The rows the online
calls wrote are deleted at the end (benchmark database only).

Usage::

    python benchmarks/scoring_online.py [--calls 200] [--warmup 20] [--threads 1,2]
        [--database-url postgres://postgres@127.0.0.1:5432/xinyidai_bench]
        [--enterprises 2000]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch import database, loading
from batch.database import AS_OF
from batch.model import champion_model
from batch.stages import STAGES, StageTimer


def percentiles(values: list[float]) -> dict[str, float]:
    """Median, and p95/p99 by nearest rank (the smallest value with at least that
    fraction of the calls at or below it)."""
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return ordered[max(1, math.ceil(round(fraction * len(ordered), 9))) - 1]

    return {
        "p50": statistics.median(ordered),
        "p95": at(0.95),
        "p99": at(0.99),
        "min": ordered[0],
        "max": ordered[-1],
    }


def _report(title: str, totals: list[float], stages: dict[str, list[float]]) -> None:
    figures = percentiles([1000 * t for t in totals])
    print(
        f"{title}: p50 {figures['p50']:.2f} ms, p95 {figures['p95']:.2f} ms, "
        f"p99 {figures['p99']:.2f} ms (min {figures['min']:.2f}, max "
        f"{figures['max']:.2f}; {len(totals)} calls)"
    )
    accounted = 0.0
    for label, seconds in stages.items():
        median = 1000 * statistics.median(seconds)
        accounted += median
        print(f"    {label:<52} median {median:6.2f} ms")
    print(
        f"    {'other (sum of medians vs median total)':<52} "
        f"       {figures['p50'] - accounted:6.2f} ms"
    )


def _thread_comparison(model_stage: dict[int, list[float]]) -> None:
    """The model stage (DMatrix, margin, ``pred_contribs``) by thread count, and each
    count's p50/p95 over the first count's."""
    counts = list(model_stage)
    base = percentiles([1000 * t for t in model_stage[counts[0]]])
    print("\nmodel stage (score_matrix) by xgboost thread count:")
    for count in counts:
        figures = percentiles([1000 * t for t in model_stage[count]])
        print(
            f"    nthread={count}: p50 {figures['p50']:.3f} ms, p95 "
            f"{figures['p95']:.3f} ms, p99 {figures['p99']:.3f} ms; ÷ nthread="
            f"{counts[0]}: p50 {figures['p50'] / base['p50']:.2f}×, p95 "
            f"{figures['p95'] / base['p95']:.2f}×"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--database-url", default=database.DEFAULT_URL)
    parser.add_argument(
        "--enterprises",
        type=int,
        default=2000,
        help="enterprises to load if the benchmark database is not loaded yet",
    )
    parser.add_argument(
        "--threads",
        default="1,2",
        help="xgboost thread counts compared, in turns (SCORING_ONLINE_NTHREAD)",
    )
    args = parser.parse_args(argv)
    thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]

    loaded = database.loaded_enterprises(args.database_url)
    if loaded is None:
        database.prepare_database(
            args.database_url, enterprises=args.enterprises, keep=False
        )
    database.configure(args.database_url)
    from django.conf import settings

    from borrowers.models import Enterprise
    from scoring import services

    database.migrate()
    if loaded is None:
        loading.load(args.database_url, args.enterprises)
        loaded = args.enterprises
    model = champion_model(retrain=False)
    configured = settings.SCORING_ONLINE_NTHREAD
    for count in thread_counts:
        services.load_model(model, nthread=count)  # loaded once per thread count
    ids = sorted(Enterprise.objects.values_list("pk", flat=True))
    enterprise = Enterprise.objects.get(pk=ids[len(ids) // 2])
    print(
        f"database {database.database_name(args.database_url)} ({loaded:,} "
        f"enterprises); enterprise {enterprise.pk} ({enterprise.uscc}), as of "
        f"{AS_OF}; SCORING_ONLINE_NTHREAD={configured} (compared: "
        f"{', '.join(map(str, thread_counts))}), SCORING_NTHREAD="
        f"{settings.SCORING_NTHREAD}; load average "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    watermarks = database.watermarks()

    # --- online: the service, end to end ---------------------------------------------
    timer = StageTimer().install()
    labels = {key: label for key, _name, label in STAGES}
    totals: dict[int, list[float]] = {count: [] for count in thread_counts}
    stages = {count: {labels[key]: [] for key in labels} for count in thread_counts}
    model_stage: dict[int, list[float]] = {count: [] for count in thread_counts}
    for call in range(args.warmup + args.calls):
        for count in thread_counts:
            settings.SCORING_ONLINE_NTHREAD = count
            timer.reset()
            started = time.perf_counter()
            score = services.enterprise_score(enterprise=enterprise, as_of=AS_OF)
            elapsed = time.perf_counter() - started
            if call >= args.warmup:
                totals[count].append(elapsed)
                model_stage[count].append(timer.totals.get("model", 0.0))
                for key, label in labels.items():
                    stages[count][label].append(timer.totals.get(key, 0.0))
    settings.SCORING_ONLINE_NTHREAD = configured
    timer.uninstall()
    print(f"score {score.score:.1f} ({score.grade}), {len(score.reasons)} reasons")
    if (
        score.feature_vector_id is None
        or services.FeatureVector.objects.filter(
            pk=score.feature_vector_id, enterprise=enterprise
        ).count()
        != 1
    ):
        raise SystemExit("the online score was not made from the stored vector")
    for count in thread_counts:
        _report(
            f"online (enterprise_score, PostgreSQL), nthread={count}",
            totals[count],
            stages[count],
        )
    _thread_comparison(model_stage)

    # --- features from the records: what a pull does once, after its writes --------
    from scoring.models import FeatureVector

    first_vector = FeatureVector.objects.order_by("-pk").values_list("pk", flat=True)[0]
    refresh_totals: list[float] = []
    for call in range(args.warmup + args.calls):
        started = time.perf_counter()
        vectors = services.features_refresh(enterprise_ids=[enterprise.pk], as_of=AS_OF)
        elapsed = time.perf_counter() - started
        if call >= args.warmup:
            refresh_totals.append(elapsed)
    stored = FeatureVector.objects.get(pk=score.feature_vector_id)
    import numpy as np

    again = np.frombuffer(vectors[enterprise.pk].values, dtype="<f8")
    # Computed alone rather than in a chunk of 5,000, a sum can differ in its last
    # bits (pandas sums a group by a different method; see docs/benchmarks.md).
    if not np.allclose(again, stored.array(), rtol=1e-12, atol=0, equal_nan=True):
        raise SystemExit("features computed again differ from the stored vector")
    differing = int((again.view("<u8") != stored.array().view("<u8")).sum())
    print(f"features computed again: {differing} of {len(again)} differ in last bits")
    _report(
        "features from the records (features_refresh: read, features, vector and "
        "access-log rows written)",
        refresh_totals,
        {},
    )

    database.clear_scores(watermarks)
    FeatureVector.objects.filter(pk__gt=first_vector).delete()
    judged = configured if configured in totals else thread_counts[0]
    target = percentiles([1000 * t for t in totals[judged]])["p50"]
    print(
        f"\ntarget online p50 ≤ 15 ms (nthread={judged}): "
        f"{'met' if target <= 15 else 'NOT met'} ({target:.2f} ms)"
    )


if __name__ == "__main__":
    main()
