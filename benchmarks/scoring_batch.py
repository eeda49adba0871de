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

It prints both throughputs, the ratio ``raw time / end-to-end time`` of each pass
and their median (the target is ≥ 0.5: end to end at least half as fast as raw
xgboost) and the end-to-end time by stage, measured by wrapping the service's own
stage functions (``STAGES``). Every end-to-end pass starts from an empty CreditScore
table (TRUNCATE, in the benchmark database only).

Usage::

    python benchmarks/scoring_batch.py [--enterprises 100000] [--chunk 5000]
        [--database-url postgres://postgres@127.0.0.1:5432/xinyidai_bench]
        [--keep] [--retrain] [--repeat 1] [--raw-repeat 3] [--load-only]
        [--workers 0] [--worker-nthread 1] [--refresh-features]

Loading 100,000 enterprises (17.9 million records) takes about 10 minutes on two
cores; ``--keep`` reuses them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xinyidai_bench"
AS_OF = dt.date(2025, 12, 31)
#: ``synthetic_uscc`` index of the first benchmark enterprise (the training sample
#: draws its firms from index 1,000,000 on, so the two never overlap below 1M).
FIRST_INDEX = 0
LOAD_BATCH = 250
MARKER_TABLE = "benchmark_scoring_load"


# --- set-up -----------------------------------------------------------------------------
def _database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit(f"--database-url names no database: {url}")
    return name


def _maintenance_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def configure(url: str) -> None:
    """Point Django at the benchmark database (set before settings are read)."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    os.environ["DATABASE_URL"] = url
    # Production-like: no per-query debug bookkeeping; model files out of media/.
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_MEDIA_ROOT", str(ROOT / "var" / "bench-media"))
    import django

    django.setup()


def loaded_enterprises(url: str) -> int | None:
    """How many enterprises the benchmark database holds, if a load finished."""
    import psycopg
    from psycopg import sql

    query = sql.SQL("SELECT enterprises, as_of FROM {}").format(
        sql.Identifier(MARKER_TABLE)
    )
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            row = connection.execute(query).fetchone()
    except psycopg.Error:
        return None
    return row[0] if row is not None and row[1] == AS_OF else None


def _is_loaded(url: str, enterprises: int) -> bool:
    return loaded_enterprises(url) == enterprises


def prepare_database(url: str, *, enterprises: int, keep: bool) -> bool:
    """Create the benchmark database (dropping it first unless ``keep`` finds it
    loaded with the same data); returns whether it still has to be loaded."""
    import psycopg
    from psycopg import sql

    name = _database_name(url)
    if "bench" not in name:
        # This script drops and re-creates its database: never touch a real one.
        raise SystemExit(f"refusing to use {name!r}: the name must contain 'bench'")
    if keep and _is_loaded(url, enterprises):
        return False
    with psycopg.connect(_maintenance_url(url), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            print(f"dropping database {name} (not loaded with this data set)")
            connection.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


# --- loading ----------------------------------------------------------------------------
def _columns(model) -> list[str]:
    return [field.column for field in model._meta.concrete_fields]


def _record_converters():
    """Per category: the record table's columns after the common ones, and a function
    from a wire record to their text values (what ingestion would store)."""
    from creditdata.categories import RECORD_FIELDS

    def converter(kind: str) -> Callable[[object], object]:
        if kind == "month":
            return lambda value: f"{value}-01"
        return lambda value: value

    return {
        category: [(spec.name, converter(spec.kind)) for spec in specs]
        for category, specs in RECORD_FIELDS.items()
    }


class _Loader:
    """State shared with the forked loader processes (set before the fork)."""

    url: str
    ids: dict[str, int]
    platform_id: int
    platform_name: str
    owner_id: int
    notice = None
    now: dt.datetime
    valid_to: dt.datetime
    source: str
    connection = None


def _load_batch(indices: range) -> int:
    """Generate and COPY one batch of enterprises with their consents and records."""
    import psycopg
    from psycopg import sql

    from accounts.models import Organization
    from borrowers.models import (
        ConsentPurpose,
        CreditAuthorization,
        Enterprise,
        sha256_text,
    )
    from borrowers.notices import render_notice
    from core.codes import Category
    from creditdata.models import RECORD_MODELS
    from creditdata.synthetic import firm_profile, records_for, synthetic_uscc

    if _Loader.connection is None:
        # Autocommit, so that each ``transaction()`` block below commits on exit.
        _Loader.connection = psycopg.connect(_Loader.url, autocommit=True)
        _Loader.connection.execute("SET synchronous_commit = off")
    connection = _Loader.connection
    now, categories = _Loader.now, sorted(Category.values)
    organizations, enterprises, consents = [], [], []
    records: dict[str, list[tuple]] = defaultdict(list)
    converters = _record_converters()
    for index in indices:
        uscc = synthetic_uscc(FIRST_INDEX + index)
        profile = firm_profile(uscc)
        organization_id = _Loader.ids["organization"] + index
        enterprise_id = _Loader.ids["enterprise"] + index
        organizations.append(
            (organization_id, now, now, "enterprise", f"{profile.name}·{uscc}", True)
        )
        enterprises.append(
            (
                enterprise_id,
                now,
                now,
                organization_id,
                uscc,
                profile.name,
                profile.legal_representative,
                profile.registered_capital,
                "CNY",
                profile.founded_on,
                profile.industry,
                profile.district,
                profile.size,
                "active",
            )
        )
        text = render_notice(
            notice=_Loader.notice,
            language="zh-hans",
            enterprise_name=profile.name,
            uscc=uscc,
            grantee_name=_Loader.platform_name,
            purpose=ConsentPurpose.SCORING,
            categories=categories,
            valid_from=now,
            valid_to=_Loader.valid_to,
            retention_days=180,
        )
        consents.append(
            (
                _Loader.ids["authorization"] + index,
                now,
                now,
                enterprise_id,
                _Loader.platform_id,
                ConsentPurpose.SCORING.value,
                json.dumps(categories),
                180,
                _Loader.notice.pk,
                "zh-hans",
                text,
                sha256_text(text),
                _Loader.owner_id,
                now,
                now,
                _Loader.valid_to,
                None,
                None,
                "",
            )
        )
        for category in categories:
            fields = converters[category]
            for record in records_for(uscc, category, AS_OF):
                records[category].append(
                    (
                        enterprise_id,
                        _Loader.source,
                        record["id"],
                        now,
                        *(
                            None if record[name] is None else convert(record[name])
                            for name, convert in fields
                        ),
                    )
                )

    def copy(table: str, columns: list[str], rows: list[tuple]) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with cursor.copy(statement) as stream:
            for row in rows:
                stream.write_row(row)

    written = 0
    with connection.transaction(), connection.cursor() as cursor:
        copy(Organization._meta.db_table, _columns(Organization), organizations)
        copy(Enterprise._meta.db_table, _columns(Enterprise), enterprises)
        copy(
            CreditAuthorization._meta.db_table,
            _columns(CreditAuthorization),
            consents,
        )
        for category, rows in records.items():
            model = RECORD_MODELS[category]
            columns = [
                "enterprise_id",
                "source",
                "source_id",
                "fetched_at",
                *(name for name, _ in converters[category]),
            ]
            copy(model._meta.db_table, columns, rows)
            written += len(rows)
    return written


def _check_columns() -> None:
    """The tuples built in ``_load_batch`` follow these column orders."""
    from accounts.models import Organization
    from borrowers.models import CreditAuthorization, Enterprise

    expected = {
        Organization: "id created_at updated_at kind name is_active",
        Enterprise: "id created_at updated_at organization_id uscc name "
        "legal_representative registered_capital currency founded_on industry "
        "district employees status",
        CreditAuthorization: "id created_at updated_at enterprise_id grantee_id "
        "purpose scope retention_days notice_id notice_language notice_text "
        "notice_sha256 granted_by_id granted_at valid_from valid_to revoked_at "
        "revoked_by_id revoke_reason",
    }
    for model, columns in expected.items():
        if _columns(model) != columns.split():
            raise SystemExit(f"{model.__name__} columns changed: {_columns(model)}")


def load(url: str, enterprises: int, processes: int = 2) -> None:
    import multiprocessing

    import psycopg
    from django.conf import settings
    from django.db import connections
    from django.utils import timezone
    from psycopg import sql

    from accounts.models import Organization, User
    from accounts.selectors import platform_organization
    from borrowers.models import CreditAuthorization, Enterprise
    from borrowers.notices import current_notice
    from creditdata.models import RECORD_MODELS

    _check_columns()
    owner = User.objects.create_user(email="bench-owner@bench.invalid")
    platform = platform_organization()
    _Loader.url = url
    _Loader.platform_id, _Loader.platform_name = platform.pk, platform.name
    _Loader.owner_id = owner.pk
    _Loader.notice = current_notice()
    _Loader.now = timezone.now()
    _Loader.valid_to = _Loader.now + dt.timedelta(days=330)
    _Loader.source = settings.CREDIT_PROVIDER_NAME
    tables = {
        "organization": Organization,
        "enterprise": Enterprise,
        "authorization": CreditAuthorization,
    }
    _Loader.ids = {
        key: (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        + 1
        for key, model in tables.items()
    }
    connections.close_all()  # nothing of Django's survives into the children
    batches = [
        range(start, min(start + LOAD_BATCH, enterprises))
        for start in range(0, enterprises, LOAD_BATCH)
    ]
    started = time.perf_counter()
    written, done = 0, 0
    context = multiprocessing.get_context("fork")
    with context.Pool(processes) as pool:
        for count in pool.imap_unordered(_load_batch, batches):
            written += count
            done += 1
            if done % max(1, len(batches) // 20) == 0 or done == len(batches):
                elapsed = time.perf_counter() - started
                print(
                    f"  loaded {min(done * LOAD_BATCH, enterprises):,} enterprises, "
                    f"{written:,} records, {elapsed:,.0f} s",
                    flush=True,
                )
        pool.close()
        pool.join()
    loaded = time.perf_counter() - started
    marker = sql.Identifier(MARKER_TABLE)
    with psycopg.connect(url, autocommit=True) as connection:
        stored = connection.execute(
            sql.SQL("SELECT count(*) FROM {}").format(
                sql.Identifier(Enterprise._meta.db_table)
            )
        ).fetchone()[0]
        if stored != enterprises:
            raise SystemExit(f"load failed: {stored:,} enterprises stored")
        for model in tables.values():
            table = model._meta.db_table
            connection.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({}, 'id'), "
                    "(SELECT max(id) FROM {}))"
                ).format(sql.Literal(table), sql.Identifier(table))
            )
        started_vacuum = time.perf_counter()
        for model in [*tables.values(), *RECORD_MODELS.values()]:
            connection.execute(
                sql.SQL("VACUUM (ANALYZE) {}").format(
                    sql.Identifier(model._meta.db_table)
                )
            )
        vacuumed = time.perf_counter() - started_vacuum
        connection.execute(
            sql.SQL(
                "CREATE TABLE {} (enterprises integer, as_of date, records bigint, "
                "loaded_at timestamptz DEFAULT now())"
            ).format(marker)
        )
        connection.execute(
            sql.SQL(
                "INSERT INTO {} (enterprises, as_of, records) VALUES (%s, %s, %s)"
            ).format(marker),
            [enterprises, AS_OF, written],
        )
    print(
        f"loaded {enterprises:,} enterprises and {written:,} records in "
        f"{loaded:,.1f} s ({written / loaded:,.0f} records/s, {processes} processes) "
        f"+ VACUUM ANALYZE {vacuumed:,.1f} s"
    )


# --- model ------------------------------------------------------------------------------
def champion_model(*, retrain: bool):
    """The champion: reused if the database has one (unless ``retrain``), else trained
    on a synthetic sample, registered and promoted."""
    from django.conf import settings

    from scoring.models import ModelVersion
    from scoring.services import model_promote
    from scoring.synthetic_sample import draw_sample
    from scoring.training import fit_platform_model, register_model

    existing = ModelVersion.objects.filter(is_champion=True).first()
    if existing is not None and not retrain:
        print(f"model: reusing champion {existing.version}")
        return existing
    started = time.perf_counter()
    sample = draw_sample(enterprises_per_vintage=2000)
    trained = fit_platform_model(
        sample, seed=settings.SCORING_SEED, nthread=settings.SCORING_NTHREAD
    )
    model = model_promote(model=register_model(trained), promoted_by=None)
    print(
        f"model: trained {model.version} on {len(sample.label):,} rows "
        f"({trained.booster.num_boosted_rounds()} trees) in "
        f"{time.perf_counter() - started:,.0f} s"
    )
    return model


# --- stage timing -----------------------------------------------------------------------
#: What ``score_enterprises`` spends its time on, by the service function doing it.
STAGES = (
    ("consent", "_with_scoring_consent", "consent check (authorizations read)"),
    ("read", "_latest_vectors", "DB read of the stored feature vectors"),
    ("model", "score_matrix", "model (DMatrix, margin, pred_contribs)"),
    ("rows", "_score_rows", "reason codes, contributions, row values"),
    ("write", "_write_scores", "DB write (CreditScore rows; batch: COPY)"),
)


class StageTimer:
    """Wraps the service functions named in ``STAGES`` to add up their time."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.calls: list[dict[str, float]] = []
        self.matrices: list = []
        self.capture = False
        self._originals: dict[str, Callable] = {}

    def install(self) -> StageTimer:
        from scoring import services

        for key, name, _label in STAGES:
            original = getattr(services, name)  # fails loudly if renamed
            self._originals[name] = original
            setattr(services, name, self._wrap(key, original))
        return self

    def uninstall(self) -> None:
        from scoring import services

        for name, original in self._originals.items():
            setattr(services, name, original)

    def _wrap(self, key: str, function: Callable) -> Callable:
        def timed(*args, **kwargs):
            if key == "model" and self.capture:
                self.matrices.append(args[1])
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.totals[key] += time.perf_counter() - started

        return timed

    def reset(self) -> None:
        self.totals.clear()


@contextmanager
def timed(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"{label}: {time.perf_counter() - started:,.1f} s")


def refresh_features(ids: list[int], chunk: int, *, again: bool) -> None:
    """Store every enterprise's features as of ``AS_OF`` (what each pull does for its
    enterprise), unless they are already stored; timed, not part of end to end."""
    from django.db import connection

    from scoring import services
    from scoring.features import FEATURE_SET
    from scoring.models import FeatureVector

    stored = FeatureVector.objects.filter(as_of=AS_OF, feature_set_id=FEATURE_SET)
    if not again and stored.count() == len(ids):
        print(f"features: reusing {len(ids):,} stored vectors as of {AS_OF}")
        return
    if "bench" not in connection.settings_dict["NAME"]:
        raise SystemExit("refusing to delete vectors outside a benchmark database")
    clear_scores()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE scoring_creditscore, scoring_featurevector")
    started = time.perf_counter()
    for offset in range(0, len(ids), chunk):
        services.features_refresh(
            enterprise_ids=ids[offset : offset + chunk], as_of=AS_OF
        )
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scoring_featurevector")
    print(
        f"features: computed and stored {len(ids):,} vectors (records read, features, "
        f"vector + access-log rows written) in {elapsed:,.1f} s, "
        f"{len(ids) / elapsed:,.0f} enterprises/s"
    )


def clear_scores(after: tuple[int, int] = (0, 0)) -> None:
    """Remove the CreditScore and DataAccessLog rows written after these ids (all of
    them by default) — in the benchmark database only, where nothing else writes
    them. The access log's append-only trigger refuses DELETE: TRUNCATE (the owner's
    maintenance statement the trigger leaves possible) empties it, and a partial
    delete disables the trigger for that one statement."""
    from django.db import connection, transaction

    if "bench" not in connection.settings_dict["NAME"]:
        raise SystemExit("refusing to delete scores outside a benchmark database")
    with transaction.atomic(), connection.cursor() as cursor:
        if after == (0, 0):
            cursor.execute("TRUNCATE scoring_creditscore, borrowers_dataaccesslog")
        else:
            cursor.execute("DELETE FROM scoring_creditscore WHERE id > %s", [after[0]])
            cursor.execute(
                "ALTER TABLE borrowers_dataaccesslog "
                "DISABLE TRIGGER borrowers_access_log_no_update_delete"
            )
            cursor.execute(
                "DELETE FROM borrowers_dataaccesslog WHERE id > %s", [after[1]]
            )
            cursor.execute(
                "ALTER TABLE borrowers_dataaccesslog "
                "ENABLE TRIGGER borrowers_access_log_no_update_delete"
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scoring_creditscore")
        cursor.execute("VACUUM ANALYZE borrowers_dataaccesslog")


def _watermarks() -> tuple[int, int]:
    from borrowers.models import DataAccessLog
    from scoring.models import CreditScore

    return (
        CreditScore.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        DataAccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
    )


# --- the benchmark ----------------------------------------------------------------------
def end_to_end(model, ids: list[int], chunk: int, timer: StageTimer) -> dict:
    from borrowers.models import DataAccessLog
    from scoring import services
    from scoring.models import CreditScore

    services.load_model(model)  # a worker loads it once, before its first chunk
    before = _watermarks()
    timer.reset()
    scored = 0
    started = time.perf_counter()
    for offset in range(0, len(ids), chunk):
        scored += services.score_batch(
            enterprise_ids=ids[offset : offset + chunk], model=model, as_of=AS_OF
        )
    elapsed = time.perf_counter() - started
    written_scores = CreditScore.objects.filter(pk__gt=before[0]).count()
    written_logs = DataAccessLog.objects.filter(pk__gt=before[1]).count()
    return {
        "seconds": elapsed,
        "scored": scored,
        "credit_scores": written_scores,
        "access_logs": written_logs,
        "stages": dict(timer.totals),
        "watermarks": before,
    }


BROKER_URL = "redis://127.0.0.1:6379/5"
RESULTS_URL = "redis://127.0.0.1:6379/6"
QUEUE = "bench-scoring"


def worker_environment(url: str) -> dict[str, str]:
    """What this process and the worker it starts share: the benchmark database, a
    broker and result store of their own (Redis databases 5 and 6), one queue."""
    return {
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_RESULT_BACKEND": RESULTS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
    }


@contextmanager
def celery_worker(url: str, concurrency: int, nthread: int) -> Iterator[None]:
    """``celery worker`` (prefork, ``concurrency`` processes, each scoring with
    ``SCORING_NTHREAD=nthread``) on the benchmark queue, as production runs it;
    stopped (warm shutdown) afterwards."""
    import subprocess

    env = {
        **os.environ,
        **worker_environment(url),
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DJANGO_DEBUG": "false",
        "SCORING_NTHREAD": str(nthread),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--queues",
            QUEUE,
            "--hostname",
            "bench@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        yield
    finally:
        worker.terminate()
        worker.wait(timeout=120)


def end_to_end_on_workers(model, ids: list[int], chunk: int, concurrency: int) -> dict:
    """The same scoring as ``end_to_end``, through ``scoring.tasks.batch_score`` on a
    Celery worker with ``concurrency`` processes; timed from sending the chunks until
    every chunk's result is back. Each process first scores a small warm-up chunk (it
    loads the model once, as a worker does before its first chunk); those scores are
    removed before the timed pass."""
    from celery import group

    from scoring.models import CreditScore
    from scoring.tasks import batch_score, score_chunk

    warm_up = group(
        score_chunk.s(ids[i * 10 : (i + 1) * 10], model.pk, AS_OF.isoformat())
        for i in range(4 * concurrency)
    ).apply_async()
    warm_up.get(timeout=600)
    clear_scores()
    started = time.perf_counter()
    result = batch_score(ids, model=model, as_of=AS_OF, chunk_size=chunk)
    scored = sum(result.get(timeout=3600))
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "scored": scored,
        "credit_scores": CreditScore.objects.count(),
    }


def raw(model, matrix, repeat: int) -> list[float]:
    import xgboost as xgb
    from django.conf import settings

    from scoring import services

    loaded = services.load_model(model)
    booster, names = loaded.booster, list(loaded.feature_names)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        booster.inplace_predict(matrix, predict_type="margin")
        booster.predict(
            xgb.DMatrix(matrix, feature_names=names, nthread=settings.SCORING_NTHREAD),
            pred_contribs=True,
        )
        times.append(time.perf_counter() - started)
    return times


def main(argv: list[str] | None = None) -> None:
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
        type=int,
        default=1,
        help="SCORING_NTHREAD of each worker process (processes × threads = cores)",
    )
    parser.add_argument(
        "--refresh-features",
        action="store_true",
        help="compute the stored feature vectors again even if present",
    )
    args = parser.parse_args(argv)

    must_load = prepare_database(
        args.database_url, enterprises=args.enterprises, keep=args.keep
    )
    if args.workers:
        os.environ.update(worker_environment(args.database_url))
    configure(args.database_url)
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from django.conf import settings

    from borrowers.models import Enterprise

    with timed("migrate"):
        migrate()
    if must_load:
        load(args.database_url, args.enterprises, processes=args.processes)
    else:
        print(f"database {_database_name(args.database_url)}: reusing loaded data")
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

    refresh_features(ids, args.chunk, again=args.refresh_features)
    timer = StageTimer().install()
    # The first pass captures the matrix it scores (the raw passes' input) and the
    # time by stage; every pass is followed by a raw pass on that matrix, and each
    # pair gives one ratio (this machine's speed drifts by ±20 % over minutes).
    runs = []
    for repetition in range(args.repeat):
        clear_scores()  # every pass starts from empty score and log tables
        timer.capture = repetition == 0
        run = end_to_end(model, ids, args.chunk, timer)
        if repetition == 0:
            matrix = np.ascontiguousarray(np.vstack(timer.matrices), dtype=np.float64)
            stages = dict(run["stages"])
        run["raw"] = raw(model, matrix, 1)[0]
        runs.append(run)
        print(
            f"end to end #{repetition + 1}: {run['seconds']:,.2f} s, "
            f"{run['scored'] / run['seconds']:,.0f} enterprises/s "
            f"({run['credit_scores']:,} CreditScore rows, "
            f"{run['access_logs']:,} DataAccessLog rows written); raw xgboost "
            f"{run['raw']:.2f} s; ratio {run['raw'] / run['seconds']:.3f}"
        )
    timer.uninstall()
    on_workers = []
    if args.workers:
        with celery_worker(args.database_url, args.workers, args.worker_nthread):
            for repetition in range(args.repeat):
                run = end_to_end_on_workers(model, ids, args.chunk, args.workers)
                run["raw"] = raw(model, matrix, 1)[0]
                on_workers.append(run)
                print(
                    f"end to end on a Celery worker ({args.workers} processes × "
                    f"{args.worker_nthread} xgboost threads) #{repetition + 1}: "
                    f"{run['seconds']:,.2f} s, "
                    f"{run['scored'] / run['seconds']:,.0f} enterprises/s "
                    f"({run['credit_scores']:,} CreditScore rows); raw xgboost "
                    f"{run['raw']:.2f} s; ratio {run['raw'] / run['seconds']:.3f}"
                )
    n = len(matrix)
    raw_times = raw(model, matrix, args.raw_repeat)
    print(
        f"\nraw xgboost on the same {n:,} × {matrix.shape[1]} matrix, "
        f"{args.raw_repeat} more passes: "
        + ", ".join(f"{t:.2f}" for t in raw_times)
        + f" s → {n / statistics.median(raw_times):,.0f} enterprises/s"
    )
    for label, passes in (
        ("one process, chunks in sequence", runs),
        (f"Celery worker, {args.workers} processes", on_workers),
    ):
        if not passes:
            continue
        ratios = sorted(run["raw"] / run["seconds"] for run in passes)
        # Of an even number, the lower middle one: not the best.
        ratio = ratios[(len(ratios) - 1) // 2]
        seconds = statistics.median(run["seconds"] for run in passes)
        print(
            f"end to end, {label}: median {seconds:.2f} s "
            f"({n / seconds:,.0f} enterprises/s); ratio raw/e2e by pass "
            + ", ".join(f"{r:.3f}" for r in ratios)
            + f" → median {ratio:.3f} (target ≥ 0.5: "
            f"{'met' if ratio >= 0.5 else 'NOT met'})"
        )
    first = runs[0]["seconds"]
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


if __name__ == "__main__":
    main()
