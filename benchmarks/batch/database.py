"""The benchmark's own PostgreSQL database: created, migrated, marked when loaded."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xinyidai_bench"
AS_OF = dt.date(2025, 12, 31)
MARKER_TABLE = "benchmark_scoring_load"


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit(f"--database-url names no database: {url}")
    return name


def maintenance_url(url: str) -> str:
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


def is_loaded(url: str, enterprises: int) -> bool:
    return loaded_enterprises(url) == enterprises


def prepare_database(url: str, *, enterprises: int, keep: bool) -> bool:
    """Create the benchmark database (dropping it first unless ``keep`` finds it
    loaded with the same data); returns whether it still has to be loaded."""
    import psycopg
    from psycopg import sql

    name = database_name(url)
    if "bench" not in name:
        # This script drops and re-creates its database: never touch a real one.
        raise SystemExit(f"refusing to use {name!r}: the name must contain 'bench'")
    if keep and is_loaded(url, enterprises):
        return False
    with psycopg.connect(maintenance_url(url), autocommit=True) as connection:
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


def write_marker(connection, *, enterprises: int, records: int) -> None:
    """Record on ``connection`` (psycopg, benchmark database) that a load of
    ``enterprises`` enterprises as of ``AS_OF`` finished."""
    from psycopg import sql

    marker = sql.Identifier(MARKER_TABLE)
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
        [enterprises, AS_OF, records],
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


def watermarks() -> tuple[int, int]:
    """The highest CreditScore and DataAccessLog ids now (0 where empty)."""
    from borrowers.models import DataAccessLog
    from scoring.models import CreditScore

    return (
        CreditScore.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        DataAccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
    )
