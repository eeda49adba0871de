"""A record's key is ``(enterprise, source, source_id)``: the provider promises its
record ids unique only per enterprise, so one enterprise's pull never rewrites
another's row (issue 11, item 12). Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import responses
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from creditdata import services
from creditdata.models import (
    RECORD_MODELS,
    DataQualityFinding,
    IngestionStatus,
    TaxRecord,
)
from tests.creditdata.provider_fake import BASE, serve
from tests.factories.borrowers import enterprise_with_owner, grant

pytestmark = pytest.mark.django_db

SOURCE = "sz-credit"
TAX_FIELDS = [f.attname for f in TaxRecord._meta.concrete_fields]


@pytest.fixture(autouse=True)
def _provider(settings):
    settings.CREDIT_PROVIDER_URL = BASE
    settings.CREDIT_PROVIDER_API_KEY = "sk_test_provider"
    settings.CREDIT_PROVIDER_NAME = SOURCE
    settings.CREDIT_PROVIDER_MAX_RETRIES = 0


def _tax(
    record_id: str, month: str, paid: str, arrears: str, grade: str | None
) -> dict:
    return {
        "id": record_id,
        "category": "tax",
        "period": month,
        "tax_paid": paid,
        "arrears": arrears,
        "credit_grade": grade,
    }


def _run(enterprise, owner, capture):
    with capture(execute=False):
        return services.ingestion_request(
            enterprise=enterprise, requested_by=owner, categories=["tax"]
        )


def _pull(enterprise, owner, capture, records: list[dict]):
    """One pull of the enterprise's tax category, the provider serving ``records``."""
    run = _run(enterprise, owner, capture)
    with responses.RequestsMock() as mock:
        serve(mock, enterprise.uscc, "tax", [records])
        services.ingestion_execute(run_pk=run.pk)
    run.refresh_from_db()
    assert run.status == IngestionStatus.SUCCEEDED, run.category_results
    return run


def _row(enterprise) -> dict:
    """Every column of the enterprise's one tax row."""
    rows = list(TaxRecord.objects.filter(enterprise=enterprise).values(*TAX_FIELDS))
    assert len(rows) == 1
    return rows[0]


def _two_enterprises():
    a, a_owner = enterprise_with_owner()
    b, b_owner = enterprise_with_owner()
    grant(a, a_owner, categories=["tax"])
    grant(b, b_owner, categories=["tax"])
    return (a, a_owner), (b, b_owner)


def test_the_same_provider_id_for_two_enterprises_gives_each_its_own_row(
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    (a, a_owner), (b, b_owner) = _two_enterprises()

    run_a = _pull(a, a_owner, capture, [_tax("t1", "2026-01", "1000.00", "0.00", "A")])
    row_a = _row(a)
    assert row_a == {
        "id": row_a["id"],
        "enterprise_id": a.pk,
        "source": SOURCE,
        "source_id": "t1",
        "fetched_at": row_a["fetched_at"],
        "ingestion_run_id": run_a.pk,
        "period": dt.date(2026, 1, 1),
        "tax_paid": Decimal("1000.00"),
        "arrears": Decimal("0.00"),
        "credit_grade": "A",
    }
    assert row_a["fetched_at"] <= timezone.now()

    # B's provider answers with the same record id and other values.
    run_b = _pull(b, b_owner, capture, [_tax("t1", "2025-06", "7.50", "-3.00", None)])

    # A's row is exactly as it was: every column, pk, run and fetch time included.
    assert _row(a) == row_a
    row_b = _row(b)
    assert row_b == {
        "id": row_b["id"],
        "enterprise_id": b.pk,
        "source": SOURCE,
        "source_id": "t1",
        "fetched_at": row_b["fetched_at"],
        "ingestion_run_id": run_b.pk,
        "period": dt.date(2025, 6, 1),
        "tax_paid": Decimal("7.50"),
        "arrears": Decimal("-3.00"),
        "credit_grade": None,
    }
    assert row_b["id"] != row_a["id"]
    assert TaxRecord.objects.filter(source=SOURCE, source_id="t1").count() == 2
    # The findings of B's data name B's record, and A has none: a finding's
    # source_ids are read with its enterprise, never on their own.
    assert list(
        DataQualityFinding.objects.values_list("enterprise_id", "rule", "source_ids")
    ) == [(b.pk, "negative_amount", ["t1"])]


def test_a_second_pull_updates_only_its_own_enterprise_row(
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    (a, a_owner), (b, b_owner) = _two_enterprises()
    _pull(a, a_owner, capture, [_tax("t1", "2026-01", "1000.00", "0.00", "A")])
    _pull(b, b_owner, capture, [_tax("t1", "2025-06", "7.50", "0.00", None)])
    first_a, row_b = _row(a), _row(b)

    second_a = _pull(
        a, a_owner, capture, [_tax("t1", "2026-02", "1200.00", "5.00", "C")]
    )

    row_a = _row(a)
    # The upsert still works: the same row, updated in place, with the new values.
    assert row_a["id"] == first_a["id"]
    assert row_a == {
        "id": first_a["id"],
        "enterprise_id": a.pk,
        "source": SOURCE,
        "source_id": "t1",
        "fetched_at": row_a["fetched_at"],
        "ingestion_run_id": second_a.pk,
        "period": dt.date(2026, 2, 1),
        "tax_paid": Decimal("1200.00"),
        "arrears": Decimal("5.00"),
        "credit_grade": "C",
    }
    assert row_a["fetched_at"] >= first_a["fetched_at"]
    # B's row is untouched by A's second pull.
    assert _row(b) == row_b
    assert TaxRecord.objects.count() == 2


def _tax_row(enterprise, source_id="t1", source=SOURCE):
    return TaxRecord.objects.create(
        enterprise=enterprise,
        source=source,
        source_id=source_id,
        period=dt.date(2026, 1, 1),
        tax_paid=Decimal("1.00"),
        arrears=Decimal("0.00"),
    )


def test_the_database_refuses_a_second_row_with_the_same_enterprise_key():
    (a, _), (b, _) = _two_enterprises()
    first = _tax_row(a)
    # The same (source, source_id) for another enterprise is a different record.
    other = _tax_row(b)
    # And another source, or another id, for the same enterprise is too.
    _tax_row(a, source="another-provider")
    _tax_row(a, source_id="t2")
    with pytest.raises(IntegrityError), transaction.atomic():
        _tax_row(a)
    with pytest.raises(IntegrityError), transaction.atomic():
        _tax_row(b)
    assert sorted(
        TaxRecord.objects.filter(source=SOURCE, source_id="t1").values_list(
            "pk", flat=True
        )
    ) == sorted([first.pk, other.pk])
    assert TaxRecord.objects.count() == 4


@pytest.mark.parametrize("category", sorted(RECORD_MODELS))
def test_every_record_table_is_unique_on_enterprise_source_and_source_id(category):
    model = RECORD_MODELS[category]
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, model._meta.db_table
        )
    unique = {
        tuple(info["columns"])
        for info in constraints.values()
        if info["unique"] and not info["primary_key"]
    }
    assert ("enterprise_id", "source", "source_id") in unique
    assert ("source", "source_id") not in unique
