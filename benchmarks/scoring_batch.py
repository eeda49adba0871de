"""Benchmark: batch scoring end to end against raw xgboost on the same matrix.

A dedicated PostgreSQL database (``xinyidai_bench`` by default; created if missing,
dropped and re-created unless ``--keep`` finds it loaded, and never any other
database) is migrated and loaded with N synthetic enterprises: organization,
enterprise, a scoring consent to the platform organization covering all twelve
categories, and every public credit record the sandbox generator holds on them as of
2025-12-31 (about 180 records per enterprise). Records are generated in two forked
processes and written with PostgreSQL ``COPY``.

A model is trained on a synthetic sample (``draw_sample(enterprises_per_vintage=
2000)``), registered and promoted (with ``--keep``, the champion already in the
database is reused). Then, in this one process:

(0) features: each enterprise's ``FeatureVector`` as of 2025-12-31 is computed from
    its records and stored (``features_refresh``, what every pull does), unless the
    database already holds them (``--refresh-features`` forces it); timed apart;
(a) end to end: ``scoring.services.score_batch`` over every enterprise id in chunks
    of ``--chunk`` (sequentially: what one Celery worker process does per chunk) —
    consent check, stored vectors read from PostgreSQL, xgboost margin and
    ``pred_contribs``, reason codes, ``CreditScore`` rows written; with
    ``--workers N``, also through ``scoring.tasks.batch_score`` on a real
    ``celery worker`` with N processes (Redis as broker and result store);
(b) raw: the same feature matrix (the one (a) scored, captured, not timed) through
    ``booster.inplace_predict(matrix, predict_type="margin")`` and
    ``booster.predict(DMatrix(matrix), pred_contribs=True)``, once right after
    each end-to-end pass (then ``--raw-repeat`` more times).

With ``--worker-nthread 2,1`` (a list) the worker passes compare xgboost thread
counts per worker process: each repetition runs one pass per count, in turns, on a
worker started with ``SCORING_NTHREAD`` set to it, so the machine's drift weighs on
every count alike; ``make worker`` starts its worker with the count measured best
here (docs/benchmarks.md, "Issue 12").

It prints both throughputs, the ratio ``raw time / end-to-end time`` of each pass
and their median (the target is ≥ 0.5: end to end at least half as fast as raw
xgboost) and the end-to-end time by stage, measured by wrapping the service's own
stage functions (``STAGES``). Every end-to-end pass starts from an empty CreditScore
table (TRUNCATE, in the benchmark database only).

Usage::

    python benchmarks/scoring_batch.py [--enterprises 100000] [--chunk 5000]
        [--database-url postgres://postgres@127.0.0.1:5432/xinyidai_bench]
        [--keep] [--retrain] [--repeat 1] [--raw-repeat 3] [--load-only]
        [--workers 0] [--worker-nthread 1[,2…]] [--refresh-features]

Loading 100,000 enterprises (17.9 million records) takes about 10 minutes on two
cores; ``--keep`` reuses them.

This file is the command line; the pieces live in ``batch/`` (see its ``__init__``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# The ``batch`` package sits beside this script (first on ``sys.path`` when it is run).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch import database, loading, passes, timing
from batch.database import AS_OF, DEFAULT_URL
from batch.model import champion_model
from batch.stages import StageTimer
from batch.workers import celery_worker, worker_environment


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument(
        "--keep", action="store_true", help="reuse the database if already loaded"
    )
    parser.add_argument("--retrain", action="store_true", help="train a new champion")
    parser.add_argument("--repeat", type=int, default=1, help="end-to-end passes")
    parser.add_argument("--raw-repeat", type=int, default=3, help="raw passes")
    parser.add_argument("--processes", type=int, default=2, help="loader processes")
    parser.add_argument(
        "--load-only", action="store_true", help="load the database, then stop"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="also score on a Celery worker with this many processes (Redis needed)",
    )
    parser.add_argument(
        "--worker-nthread",
        default="1",
        help=(
            "SCORING_NTHREAD of each worker process (processes × threads = cores); "
            "a comma-separated list compares the counts, pass by pass in turns"
        ),
    )
    parser.add_argument(
        "--refresh-features",
        action="store_true",
        help="compute the stored feature vectors again even if present",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    worker_threads = [int(t) for t in args.worker_nthread.split(",") if t.strip()]

    must_load = database.prepare_database(
        args.database_url, enterprises=args.enterprises, keep=args.keep
    )
    if args.workers:
        os.environ.update(worker_environment(args.database_url))
    database.configure(args.database_url)
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from django.conf import settings

    from borrowers.models import Enterprise

    with timing.timed("migrate"):
        database.migrate()
    if must_load:
        loading.load(args.database_url, args.enterprises, processes=args.processes)
    else:
        print(
            f"database {database.database_name(args.database_url)}: reusing loaded data"
        )
    if args.load_only:
        return
    model = champion_model(retrain=args.retrain)
    ids = sorted(Enterprise.objects.values_list("pk", flat=True))
    print(
        f"\n{len(ids):,} enterprises, chunks of {args.chunk:,}, as of {AS_OF}; "
        f"Python {sys.version.split()[0]}, xgboost {xgb.__version__}, pandas "
        f"{pd.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"SCORING_NTHREAD={settings.SCORING_NTHREAD}"
    )

    passes.refresh_features(ids, args.chunk, again=args.refresh_features)
    timer = StageTimer().install()
    # The first pass captures the matrix it scores (the raw passes' input) and the
    # time by stage; every pass is followed by a raw pass on that matrix, and each
    # pair gives one ratio (this machine's speed drifts by ±20 % over minutes).
    runs = []
    for repetition in range(args.repeat):
        database.clear_scores()  # every pass starts from empty score and log tables
        timer.capture = repetition == 0
        run = passes.end_to_end(model, ids, args.chunk, timer)
        if repetition == 0:
            matrix = np.ascontiguousarray(np.vstack(timer.matrices), dtype=np.float64)
            stages = dict(run["stages"])
        run["raw"] = passes.raw(model, matrix, 1)[0]
        runs.append(run)
        timing.report_pass(
            f"end to end #{repetition + 1}",
            run,
            f"{run['credit_scores']:,} CreditScore rows, "
            f"{run['access_logs']:,} DataAccessLog rows written",
        )
    timer.uninstall()
    on_workers: dict[int, list[dict]] = {nthread: [] for nthread in worker_threads}
    for repetition in range(args.repeat if args.workers else 0):
        # One worker per pass when counts are compared (a worker keeps its count).
        for nthread in worker_threads:
            with celery_worker(args.database_url, args.workers, nthread):
                run = passes.end_to_end_on_workers(model, ids, args.chunk, args.workers)
                run["raw"] = passes.raw(model, matrix, 1)[0]
            on_workers[nthread].append(run)
            timing.report_pass(
                f"end to end on a Celery worker ({args.workers} processes × "
                f"{nthread} xgboost threads) #{repetition + 1}",
                run,
                f"{run['credit_scores']:,} CreditScore rows",
            )
    n = len(matrix)
    timing.report_raw(matrix, passes.raw(model, matrix, args.raw_repeat))
    timing.report_passes("one process, chunks in sequence", runs, n)
    for nthread, runs_on_worker in on_workers.items():
        timing.report_passes(
            f"Celery worker, {args.workers} processes × {nthread} xgboost threads",
            runs_on_worker,
            n,
        )
    timing.report_stages(stages, runs[0]["seconds"], n)


if __name__ == "__main__":
    main()
