"""Record frames for the feature pipeline: from the database or from the generator."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from django.db import connection

from core.codes import Category
from creditdata.categories import RECORD_FIELDS
from creditdata.models import RECORD_MODELS
from scoring.features import FEATURE_INPUTS, empty_frame

#: pandas' CSV float parser is correctly rounded from 3.1 on (``float_precision`` is
#: deprecated there); before, only the "round_trip" parser is.
_CSV_FLOATS = (
    {}
    if tuple(int(part) for part in pd.__version__.split(".")[:2]) >= (3, 1)
    else {"float_precision": "round_trip"}
)
_CSV_DTYPES = {"decimal": "float64", "int": "float64", "str": "str", "choice": "str"}


def frames_from_database(enterprise_ids: Sequence[int]) -> dict[str, pd.DataFrame]:
    """One DataFrame per category for these enterprises (key: enterprise pk), with the
    record fields the features read (``FEATURE_INPUTS``), in the model's order."""
    ids = [int(pk) for pk in enterprise_ids]
    if connection.vendor == "postgresql":
        return _frames_as_csv(ids)
    frames: dict[str, pd.DataFrame] = {}
    for category in Category.values:
        columns = list(FEATURE_INPUTS[category])
        rows = list(
            RECORD_MODELS[category]
            .objects.filter(enterprise_id__in=ids)
            .values_list("enterprise_id", *columns)
        )
        frames[category] = (
            pd.DataFrame(rows, columns=["enterprise", *columns])
            if rows
            else empty_frame(category)
        )
    return frames


def _frames_as_csv(ids: list[int]) -> dict[str, pd.DataFrame]:
    """PostgreSQL: each category's rows as one CSV text built by the server
    (``string_agg``; one query for the twelve) and parsed by pandas' C reader, instead
    of a Python object per value (or, with ``COPY``, a Python call per row).

    Values are the text PostgreSQL stores: a decimal is parsed to the nearest float64,
    the float ``pd.to_numeric`` makes of the ``Decimal`` the ORM returns, and the rows
    are put in the ORM's order (see ``_in_orm_order``), so the features come out
    bit-identical.
    """
    from psycopg import sql

    categories = list(Category.values)
    query = sql.SQL("SELECT {}").format(
        sql.SQL(", ").join(
            sql.SQL("({})").format(_csv_query(category)) for category in categories
        )
    )
    # An array literal: psycopg would quote a list of ids element by element.
    array = "{" + ",".join(map(str, ids)) + "}"
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.cursor), [array] * len(categories))
        texts = cursor.fetchone()
    return {
        category: _parse_csv(category, text)
        for category, text in zip(categories, texts, strict=True)
    }


def _csv_query(category: str):
    """The CSV text of a category's records of the enterprises in an array."""
    from psycopg import sql

    model = RECORD_MODELS[category]
    kinds = {spec.name: spec.kind for spec in RECORD_FIELDS[category]}
    enterprise = model._meta.get_field("enterprise").column
    values = [
        sql.SQL("{}::text").format(sql.Identifier(enterprise)),
        *(
            _csv_value(model._meta.get_field(name).column, kinds[name])
            for name in FEATURE_INPUTS[category]
        ),
    ]
    return sql.SQL(
        "SELECT string_agg(concat_ws(',', {}), E'\\n') FROM {} "
        "WHERE {} = ANY(%s::bigint[])"
    ).format(
        sql.SQL(", ").join(values),
        sql.Identifier(model._meta.db_table),
        sql.Identifier(enterprise),
    )


def _csv_value(column: str, kind: str):
    """One CSV field: ``\\N`` for NULL, text quoted, anything else as PostgreSQL
    writes it (``YYYY-MM-DD``, ``1234.50``, ``true``)."""
    from psycopg import sql

    if kind in ("str", "choice"):
        template = "coalesce('\"' || replace({}, '\"', '\"\"') || '\"', '\\N')"
    else:
        template = "coalesce({}::text, '\\N')"
    return sql.SQL(template).format(sql.Identifier(column))


def _parse_csv(category: str, text: str | None) -> pd.DataFrame:
    if not text:
        return empty_frame(category)
    kinds = {spec.name: spec.kind for spec in RECORD_FIELDS[category]}
    columns = list(FEATURE_INPUTS[category])
    frame = pd.read_csv(
        io.StringIO(text),
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
        true_values=["true"],
        false_values=["false"],
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


def frames_from_wire(records: Iterable[tuple[object, dict]]) -> dict[str, pd.DataFrame]:
    """Frames from ``(enterprise key, wire record)`` pairs, as the provider sends them."""
    by_category: dict[str, list[dict]] = {category: [] for category in Category.values}
    for key, record in records:
        row = {
            spec.name: record.get(spec.name)
            for spec in RECORD_FIELDS[record["category"]]
        }
        row["enterprise"] = key
        by_category[record["category"]].append(row)
    return {
        category: pd.DataFrame(rows) if rows else empty_frame(category)
        for category, rows in by_category.items()
    }


def synthetic_frames(usccs: Sequence[str], as_of: dt.date) -> dict[str, pd.DataFrame]:
    """The sandbox's records of these enterprises as of a date, keyed by USCC."""
    from creditdata.synthetic import records_for

    return frames_from_wire(
        (uscc, record)
        for uscc in usccs
        for category in Category.values
        for record in records_for(uscc, category, as_of)
    )
