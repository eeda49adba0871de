"""Where scoring's rows are read and written: one small interface, two implementations.

Scoring reads many enterprises' records into frames and writes vectors and scores in
bulk; on PostgreSQL these paths use its bulk protocols, elsewhere (SQLite, the
embedded default) plain ORM calls. Both give the same frames and the same rows — a
test compares them value by value — so the services above never ask which database
they run on:

* ``record_frames``: PostgreSQL streams each category as CSV with
  ``COPY (SELECT …) TO STDOUT`` (the server quotes, pandas' C reader parses: no Python
  object per value); portable: ``values_list``.
* ``insert_vectors``: ``COPY`` with primary keys taken from the sequence first;
  portable: ``bulk_create``.
* ``insert_scores``: a batch chunk by one binary ``COPY`` with no ids read back (the
  floats arrive as their exact bits, the reasons' JSON text as it is); online and
  portable: ``bulk_create`` (one ``INSERT … RETURNING`` for one score).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
from django.db import connection

from core import bulk
from core.codes import Category
from creditdata.categories import RECORD_FIELDS
from creditdata.models import RECORD_MODELS
from scoring.features import FEATURE_INPUTS, empty_frame
from scoring.models import CreditScore, FeatureVector

#: The ``CreditScore`` fields scoring sets, in the order of a score row.
SCORE_FIELDS = (
    "enterprise_id",
    "model_version_id",
    "feature_vector_id",
    "as_of",
    "score",
    "pd",
    "margin",
    "grade",
    "contribution_values",
    "reasons",
    "requested_by_id",
    "created_at",
)
_REASONS = SCORE_FIELDS.index("reasons")

#: pandas' CSV float parser is correctly rounded from 3.1 on (``float_precision`` is
#: deprecated there); before, only the "round_trip" parser is.
_CSV_FLOATS = (
    {}
    if tuple(int(part) for part in pd.__version__.split(".")[:2]) >= (3, 1)
    else {"float_precision": "round_trip"}
)
_CSV_DTYPES = {"decimal": "float64", "int": "float64", "str": "str", "choice": "str"}


class PortableStorage:
    """Plain ORM reads and writes: any database Django supports."""

    vendor = "portable"

    def record_frames(self, enterprise_ids: Sequence[int]) -> dict[str, pd.DataFrame]:
        """One DataFrame per category for these enterprises (key: enterprise pk),
        with the record fields the features read (``FEATURE_INPUTS``), in the
        model's order."""
        ids = [int(pk) for pk in enterprise_ids]
        frames: dict[str, pd.DataFrame] = {}
        for category in Category.values:
            columns = list(FEATURE_INPUTS[category])
            rows = list(
                RECORD_MODELS[category]
                ._default_manager.filter(enterprise_id__in=ids)
                .values_list("enterprise_id", *columns)
            )
            frames[category] = (
                pd.DataFrame(rows, columns=["enterprise", *columns])
                if rows
                else empty_frame(category)
            )
        return frames

    def insert_vectors(self, vectors: list[FeatureVector]) -> list[FeatureVector]:
        return FeatureVector.objects.bulk_create(vectors, batch_size=1000)

    def insert_scores(self, rows: list[tuple], *, instances: bool) -> list:
        """Insert score rows (``SCORE_FIELDS`` values, the reasons as JSON text): the
        saved instances in order (``instances``), else the rows themselves."""
        # ``auto_now_add`` stamps each row as it is saved: the instances keep that.
        created = CreditScore.objects.bulk_create(
            [score_instance(row) for row in rows], batch_size=1000
        )
        return created if instances else rows


class PostgresStorage(PortableStorage):
    """PostgreSQL's bulk protocols for the paths a batch of 100,000 takes."""

    vendor = "postgresql"

    def record_frames(self, enterprise_ids: Sequence[int]) -> dict[str, pd.DataFrame]:
        """Each category as CSV from ``COPY (SELECT …) TO STDOUT``, parsed by pandas'
        C reader. Values are the text PostgreSQL stores: a decimal is parsed to the
        nearest float64 (the float ``pd.to_numeric`` makes of the ``Decimal`` the
        ORM returns), and the rows are put in the ORM's order (``_in_orm_order``),
        so the features come out bit-identical to the portable path's."""
        # One array literal: the ids travel as one value, not one per id.
        array = "{" + ",".join(str(int(pk)) for pk in enterprise_ids) + "}"
        with connection.cursor() as cursor:
            return {
                category: _parse_csv(category, _copy_out(cursor, category, array))
                for category in Category.values
            }

    def insert_vectors(self, vectors: list[FeatureVector]) -> list[FeatureVector]:
        return bulk.insert_instances(vectors)

    def insert_scores(self, rows: list[tuple], *, instances: bool) -> list:
        if instances:
            return super().insert_scores(rows, instances=True)
        from psycopg.types.json import Jsonb

        bulk.copy_tuples(
            CreditScore,
            SCORE_FIELDS,
            (
                (
                    *row[:_REASONS],
                    Jsonb(row[_REASONS], dumps=_as_is),
                    *row[_REASONS + 1 :],
                )
                for row in rows
            ),
            binary=True,
        )
        return rows


def storage() -> PortableStorage:
    """The implementation for the database in use."""
    if connection.vendor == "postgresql":
        return PostgresStorage()
    return PortableStorage()


def score_instance(row: tuple) -> CreditScore:
    """The unsaved ``CreditScore`` of a row's values (its reasons: JSON text)."""
    fields = dict(zip(SCORE_FIELDS, row, strict=True))
    fields["reasons"] = json.loads(fields["reasons"])
    return CreditScore(**fields)


def _as_is(text: str) -> str:
    return text


def _copy_out(cursor, category: str, array: str) -> bytes:
    """The category's records of the enterprises in ``array``, as CSV (``\\N`` for
    NULL; the server quotes text as CSV needs)."""
    from psycopg import sql

    model = RECORD_MODELS[category]
    enterprise = bulk.table_column(model, "enterprise")
    columns = [
        enterprise,
        *(bulk.table_column(model, name) for name in FEATURE_INPUTS[category]),
    ]
    statement = sql.SQL(
        "COPY (SELECT {} FROM {} WHERE {} = ANY(%s::bigint[])) "
        "TO STDOUT (FORMAT csv, NULL '\\N')"
    ).format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.Identifier(model._meta.db_table),
        sql.Identifier(enterprise),
    )
    buffer = bytearray()
    with cursor.cursor.copy(statement, [array]) as copy:
        for chunk in copy:
            buffer += chunk
    return bytes(buffer)


def _parse_csv(category: str, data: bytes) -> pd.DataFrame:
    if not data:
        return empty_frame(category)
    kinds = {spec.name: spec.kind for spec in RECORD_FIELDS[category]}
    columns = list(FEATURE_INPUTS[category])
    frame = pd.read_csv(
        io.BytesIO(data),
        header=None,
        names=["enterprise", *columns],
        dtype={
            "enterprise": "int64",
            **{
                name: _CSV_DTYPES[kinds[name]]
                for name in columns
                if kinds[name] in _CSV_DTYPES
            },
        },
        keep_default_na=False,
        na_values=["\\N"],
        # COPY writes booleans as PostgreSQL's text output: t / f.
        true_values=["t"],
        false_values=["f"],
        **_CSV_FLOATS,
    )
    for name in columns:
        if kinds[name] in ("date", "month"):
            frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%d")
    return _in_orm_order(frame, RECORD_MODELS[category])


def _in_orm_order(frame: pd.DataFrame, model) -> pd.DataFrame:
    """The rows in the ORM's order: the model's ``ordering``, ties by enterprise.

    The order changes the features in their last bits: pandas adds up a group's values
    in row order, and by another method when the rows are grouped by enterprise. A
    stable sort here is cheaper than an ``ORDER BY``, which spills to disk; rows
    already in order (one enterprise's, usually) are left as they are.
    """
    ordering = [*model._meta.ordering, "enterprise"]
    keys = [name.lstrip("-") for name in ordering]
    ascending = [not name.startswith("-") for name in ordering]
    if all(ascending) and _is_sorted(frame, keys):
        return frame
    return frame.sort_values(
        keys, ascending=ascending, kind="stable", ignore_index=True
    )


def _is_sorted(frame: pd.DataFrame, keys: list[str]) -> bool:
    """Whether the rows are in ascending lexicographic order of ``keys`` (no NA)."""
    if len(frame) < 2:
        return True
    undecided = np.ones(len(frame) - 1, dtype=bool)
    for key in keys:
        column = frame[key]
        if column.isna().any():
            return False
        values = column.to_numpy()
        before, after = values[:-1], values[1:]
        if (undecided & (before > after)).any():
            return False
        undecided &= before == after
        if not undecided.any():
            return True
    return True
