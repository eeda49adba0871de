"""Revocation against an in-flight write, with real row locks on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from borrowers.models import CreditAuthorization
from creditdata import services
from creditdata.categories import parse_record
from creditdata.models import IngestionRun, TaxRecord
from tests.factories.borrowers import enterprise_with_owner, grant
from workflows import credit_data


def _records(uscc: str, months: list[str]):
    return [
        parse_record(
            "tax",
            {
                "id": f"tax-{uscc}-{m}",
                "category": "tax",
                "period": m,
                "tax_paid": "10.00",
                "arrears": "0.00",
                "credit_grade": "A",
            },
        )
        for m in months
    ]


@pytest.mark.django_db(transaction=True)
def test_revocation_waits_for_an_in_flight_write_then_no_row_is_written_after_it(
    postgres, monkeypatch
):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner, categories=["tax"])
    run = IngestionRun.objects.create(
        enterprise=enterprise, authorization=authorization, categories=["tax"]
    )
    inside_write = threading.Event()
    release_write = threading.Event()
    revoked = threading.Event()
    errors: list[BaseException] = []
    real_log = services.borrower_services.access_log_record

    def slow_log(**kwargs):
        # Runs inside the write transaction, after the consent row is locked and the
        # rows are inserted: hold the transaction open here.
        inside_write.set()
        release_write.wait(timeout=30)
        return real_log(**kwargs)

    monkeypatch.setattr(services.borrower_services, "access_log_record", slow_log)

    def write():
        try:
            services._write_category(
                run=run,
                category="tax",
                records=_records(enterprise.uscc, ["2026-01"]),
                request_id="req-write",
            )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    def revoke():
        try:
            credit_data.consent_revoke(authorization=authorization, revoked_by=owner)
            revoked.set()
        except BaseException as error:  # pragma: no cover
            errors.append(error)
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    writer.start()
    assert inside_write.wait(timeout=30)
    revoker = threading.Thread(target=revoke)
    revoker.start()
    # The revocation must wait for the row lock held by the write transaction.
    assert not revoked.wait(timeout=1.0)
    release_write.set()
    writer.join(timeout=30)
    revoker.join(timeout=30)
    assert errors == []
    assert revoked.is_set()

    authorization = CreditAuthorization.objects.get(pk=authorization.pk)
    record = TaxRecord.objects.get()
    assert record.fetched_at < authorization.revoked_at

    # After the revocation, a write of the next batch is refused and writes nothing.
    monkeypatch.setattr(services.borrower_services, "access_log_record", real_log)
    with pytest.raises(services.ConsentWithdrawn):
        services._write_category(
            run=run,
            category="tax",
            records=_records(enterprise.uscc, ["2026-02"]),
            request_id="req-after",
        )
    assert TaxRecord.objects.count() == 1
