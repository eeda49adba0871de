"""Loading the benchmark database: N synthetic enterprises with their consents and
records, generated in forked processes and written with PostgreSQL ``COPY``.

Each enterprise gets an organization, the enterprise, a scoring consent to the
platform organization covering all twelve categories, and every public credit record
the sandbox generator holds on it as of ``AS_OF`` (about 180 records).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Callable

from .database import AS_OF, write_marker

#: ``synthetic_uscc`` index of the first benchmark enterprise (the training sample
#: draws its firms from index 1,000,000 on, so the two never overlap below 1M).
FIRST_INDEX = 0
LOAD_BATCH = 250


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
        write_marker(connection, enterprises=enterprises, records=written)
    print(
        f"loaded {enterprises:,} enterprises and {written:,} records in "
        f"{loaded:,.1f} s ({written / loaded:,.0f} records/s, {processes} processes) "
        f"+ VACUUM ANALYZE {vacuumed:,.1f} s"
    )
