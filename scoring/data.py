"""Record frames for the feature pipeline: from the database or from the generator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd

from core.codes import Category
from creditdata.categories import RECORD_FIELDS
from scoring.features import empty_frame
from scoring.storage import storage


def frames_from_database(enterprise_ids: Sequence[int]) -> dict[str, pd.DataFrame]:
    """One DataFrame per category for these enterprises (key: enterprise pk), with the
    record fields the features read (``FEATURE_INPUTS``), in the model's order — read
    by the storage of the database in use (``scoring.storage``)."""
    return storage().record_frames(enterprise_ids)


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
