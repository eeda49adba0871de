"""The three ways features are computed — from the ORM's rows, from PostgreSQL's
``COPY`` stream, from the provider's wire records (training) — give identical
vectors for the same records; and each storage writes the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone

from core.codes import Category
from creditdata import services as creditdata_services
from creditdata.synthetic import records_for, synthetic_uscc
from scoring.data import frames_from_wire
from scoring.features import FEATURE_NAMES, build_features
from scoring.storage import PortableStorage, PostgresStorage, storage
from tests.conftest import require_service
from tests.factories.borrowers import enterprise_with_owner, grant


def _vectors(frames, ids, as_of) -> np.ndarray:
    features = build_features(
        frames, pd.Series(pd.Timestamp(as_of), index=pd.Index(ids, name="enterprise"))
    )
    return features[list(FEATURE_NAMES)].to_numpy(dtype="<f8")


@pytest.fixture
def pulled(db, django_capture_on_commit_callbacks):
    """Three enterprises whose sandbox records were pulled today."""
    enterprises = []
    for index in (11, 12, 13):
        enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(index))
        grant(enterprise, owner)
        with django_capture_on_commit_callbacks(execute=True):
            creditdata_services.ingestion_request(
                enterprise=enterprise, requested_by=owner
            )
        enterprises.append(enterprise)
    return enterprises


def _wire_frames(enterprises, as_of):
    return frames_from_wire(
        (enterprise.pk, record)
        for enterprise in enterprises
        for category in Category.values
        for record in records_for(enterprise.uscc, category, as_of)
    )


def test_orm_rows_and_wire_records_give_identical_vectors(pulled):
    as_of = timezone.localdate()
    ids = [enterprise.pk for enterprise in pulled]
    from_orm = _vectors(PortableStorage().record_frames(ids), ids, as_of)
    from_wire = _vectors(_wire_frames(pulled, as_of), ids, as_of)
    assert from_orm.shape == (3, len(FEATURE_NAMES))
    assert from_orm.tobytes() == from_wire.tobytes()


@pytest.mark.services
def test_postgresql_copy_stream_gives_the_orm_vectors_bit_for_bit(pulled):
    require_service(
        connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL)"
    )
    as_of = timezone.localdate()
    ids = [enterprise.pk for enterprise in pulled]
    portable = PortableStorage().record_frames(ids)
    fast = PostgresStorage().record_frames(ids)
    # The same rows (the ORM's frames hold Decimal and date objects, the stream's
    # floats and timestamps: the features convert both).
    assert {category: len(frame) for category, frame in fast.items()} == {
        category: len(frame) for category, frame in portable.items()
    }
    assert sum(len(frame) for frame in fast.values()) > 100
    from_orm = _vectors(portable, ids, as_of)
    from_copy = _vectors(fast, ids, as_of)
    from_wire = _vectors(_wire_frames(pulled, as_of), ids, as_of)
    assert from_copy.tobytes() == from_orm.tobytes() == from_wire.tobytes()
    assert isinstance(storage(), PostgresStorage)


def test_the_storage_follows_the_database():
    expected = PostgresStorage if connection.vendor == "postgresql" else PortableStorage
    assert type(storage()) is expected
