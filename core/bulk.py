"""Appending many rows at once: PostgreSQL's ``COPY``, ``bulk_create`` elsewhere.

Each app writes its own tables through its own services; these helpers only move rows.
``COPY … FROM STDIN`` sends the rows as one stream instead of an ``INSERT`` whose
parameters Django builds per value (a bulk ``INSERT`` of model instances costs more than
computing the features whose reading it logs). The portable path is ``bulk_create``,
so the embedded default (SQLite) writes the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.db.models import NOT_PROVIDED

ModelT = TypeVar("ModelT", bound=models.Model)


def table_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """``model``'s field ``name``, which must have a column in the model's own table:
    ``COPY`` statements name columns, and a reverse relation or a many-to-many field
    has none (an error naming the field, before any SQL is built)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model._meta.label}.{name} has no column of its own.")
    return field


def table_column(model: type[models.Model], name: str) -> str:
    """The column of ``model``'s field ``name`` (see ``table_field``)."""
    column = table_field(model, name).column
    assert column is not None  # table_field checked it
    return column


def copy_tuples(
    model: type[models.Model],
    field_names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    binary: bool = False,
) -> None:
    """Append ``rows`` (values in ``field_names`` order, ready for the database) to
    ``model``'s table with one ``COPY`` (PostgreSQL only). ``binary``: each column
    typed as the model declares it, so PostgreSQL parses no text (floats arrive as
    their exact bits)."""
    from psycopg import sql

    meta = model._meta
    fields = [table_field(model, name) for name in field_names]
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(meta.db_table),
        sql.SQL(", ").join(
            sql.Identifier(table_column(model, name)) for name in field_names
        ),
        sql.SQL(" (FORMAT BINARY)" if binary else ""),
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        if binary:
            # Each column's type as the model declares it, less modifiers ("varchar(1)").
            copy.set_types([_column_type(field) for field in fields])
        for row in rows:
            copy.write_row(row)


def copyable(model: type[models.Model]) -> bool:
    """Whether every column's value is set by Django (none by the database)."""
    return not any(
        getattr(field, "generated", False) or field.db_default is not NOT_PROVIDED
        for field in model._meta.concrete_fields
    )


def _column_type(field: models.Field[Any, Any]) -> str:
    """The field's column type as PostgreSQL names it, less modifiers ("varchar")."""
    db_type = field.db_type(connection)
    if db_type is None:
        raise ValueError(f"{field} has no column type.")
    return db_type.split("(")[0]


def insert_instances(instances: list[ModelT]) -> list[ModelT]:
    """``bulk_create`` of unsaved instances of one model, through ``COPY`` on
    PostgreSQL: the same rows, the same objects returned (pk set, saved).

    On PostgreSQL the primary keys are taken from the table's sequence first (one
    ``nextval`` query for all), then each value is prepared by its field as
    ``bulk_create`` prepares it (``pre_save`` stamps ``auto_now`` fields); only the
    transport differs."""
    if not instances:
        return instances
    model = type(instances[0])
    if connection.vendor != "postgresql" or not copyable(model):
        return model._default_manager.bulk_create(instances, batch_size=1000)
    db = transaction.get_connection()  # the wrapper itself, not the proxy
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
            "FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(instances)],
        )
        pks = sorted(pk for (pk,) in cursor.fetchall())
    copy_tuples(
        model,
        [meta.pk.name, *(field.name for field in fields)],
        (
            (
                pk,
                *(
                    field.get_db_prep_save(field.pre_save(instance, add=True), db)
                    for field in fields
                ),
            )
            for pk, instance in zip(pks, instances, strict=True)
        ),
    )
    for pk, instance in zip(pks, instances, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = db.alias
    return instances
