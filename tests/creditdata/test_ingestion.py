"""Pulling consented data: scope, idempotency, revocation mid-pull, bad provider data."""

from __future__ import annotations

import pytest
import responses
from django.utils import timezone

from borrowers.exceptions import ConsentRequired
from borrowers.models import DataAccessLog
from creditdata import services
from creditdata.models import (
    AdministrativeRecord,
    CustomsRecord,
    DataQualityFinding,
    IngestionRun,
    IngestionStatus,
    TaxRecord,
)
from tests.creditdata.provider_fake import BASE, customs, penalty, serve, tax
from tests.factories.borrowers import enterprise_with_owner, grant
from workflows import credit_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _provider(settings):
    settings.CREDIT_PROVIDER_URL = BASE
    settings.CREDIT_PROVIDER_API_KEY = "sk_test_provider"
    settings.CREDIT_PROVIDER_NAME = "sz-credit"
    settings.CREDIT_PROVIDER_MAX_RETRIES = 0


def _run(enterprise, owner, categories=None, capture=None):
    with capture(execute=False):
        run = services.ingestion_request(
            enterprise=enterprise, requested_by=owner, categories=categories
        )
    return run


def _snapshot():
    return sorted(
        TaxRecord.objects.values_list(
            "pk", "source", "source_id", "period", "tax_paid", "arrears"
        )
    )


def test_pull_stores_records_of_each_consented_category_with_source(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["tax", "administrative"])
    uscc = enterprise.uscc
    run = _run(enterprise, owner, capture=django_capture_on_commit_callbacks)
    with responses.RequestsMock() as mock:
        serve(
            mock,
            uscc,
            "administrative",
            [[penalty(uscc, "罚〔2025〕1号", "2025-03-01")]],
        )
        serve(
            mock,
            uscc,
            "tax",
            [[tax(uscc, "2026-01"), tax(uscc, "2026-02")], [tax(uscc, "2026-03")]],
        )
        services.ingestion_execute(run_pk=run.pk)
        called = sorted({call.request.path_url.split("?")[0] for call in mock.calls})
    assert called == [
        f"/v1/enterprises/{uscc}/records/administrative",
        f"/v1/enterprises/{uscc}/records/tax",
    ]
    run.refresh_from_db()
    assert run.status == IngestionStatus.SUCCEEDED
    assert run.records_written == 4
    assert run.category_results == {
        "administrative": {"status": "ok", "records": 1},
        "tax": {"status": "ok", "records": 3},
    }
    assert list(
        TaxRecord.objects.order_by("period").values_list("source", "source_id")
    ) == [
        ("sz-credit", f"tax-{uscc}-2026-01"),
        ("sz-credit", f"tax-{uscc}-2026-02"),
        ("sz-credit", f"tax-{uscc}-2026-03"),
    ]
    assert all(r.fetched_at <= timezone.now() for r in TaxRecord.objects.all())
    # One access-log row per category the platform read.
    assert sorted(
        DataAccessLog.objects.values_list("category", "channel", "actor")
    ) == [
        ("administrative", "ingestion", None),
        ("tax", "ingestion", None),
    ]


def test_the_same_pull_twice_and_a_redelivered_task_leave_the_same_rows(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["tax"])
    uscc = enterprise.uscc
    pages = [[tax(uscc, "2026-01"), tax(uscc, "2026-02")]]
    with responses.RequestsMock() as mock:
        serve(mock, uscc, "tax", pages)
        first = _run(enterprise, owner, capture=django_capture_on_commit_callbacks)
        services.ingestion_execute(run_pk=first.pk)
        after_first = _snapshot()
        second = _run(enterprise, owner, capture=django_capture_on_commit_callbacks)
        services.ingestion_execute(run_pk=second.pk)
        # A redelivered message for a run that the lost worker had started:
        IngestionRun.objects.filter(pk=second.pk).update(status=IngestionStatus.RUNNING)
        services.ingestion_execute(run_pk=second.pk)
        # And one for a run already finished: a no-op.
        assert services.ingestion_execute(run_pk=second.pk) is None
    assert _snapshot() == after_first
    assert len(after_first) == 2
    second.refresh_from_db()
    assert (second.status, second.attempts) == (IngestionStatus.SUCCEEDED, 2)


def test_a_pull_outside_the_consent_scope_reads_nothing(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["tax"])
    with responses.RequestsMock() as mock:  # any request would fail: none registered
        with pytest.raises(ConsentRequired):
            _run(
                enterprise,
                owner,
                categories=["customs", "court"],
                capture=django_capture_on_commit_callbacks,
            )
        assert len(mock.calls) == 0
    assert IngestionRun.objects.count() == 0
    assert CustomsRecord.objects.count() == 0


def test_no_consent_no_pull(django_capture_on_commit_callbacks):
    enterprise, owner = enterprise_with_owner()
    with pytest.raises(ConsentRequired):
        _run(enterprise, owner, capture=django_capture_on_commit_callbacks)
    assert IngestionRun.objects.count() == 0


def test_revocation_mid_pull_writes_zero_rows_after_it(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner, categories=["customs", "tax"])
    uscc = enterprise.uscc
    run = _run(enterprise, owner, capture=django_capture_on_commit_callbacks)

    def revoke():
        credit_data.consent_revoke(
            authorization=authorization, revoked_by=owner, reason="stop"
        )

    with responses.RequestsMock() as mock:
        serve(mock, uscc, "customs", [[customs(uscc, "2026-01")]])
        # The SME revokes while the provider is answering the tax request.
        serve(mock, uscc, "tax", [[tax(uscc, "2026-01")]], before=revoke)
        services.ingestion_execute(run_pk=run.pk)
    authorization.refresh_from_db()
    run.refresh_from_db()
    assert run.status == IngestionStatus.CANCELLED
    assert CustomsRecord.objects.count() == 1
    assert CustomsRecord.objects.get().fetched_at < authorization.revoked_at
    assert TaxRecord.objects.count() == 0
    assert list(DataAccessLog.objects.values_list("category", flat=True)) == ["customs"]


def test_revocation_cancels_pending_pulls_which_then_read_nothing(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner, categories=["tax"])
    run = _run(enterprise, owner, capture=django_capture_on_commit_callbacks)
    credit_data.consent_revoke(authorization=authorization, revoked_by=owner)
    run.refresh_from_db()
    assert run.status == IngestionStatus.CANCELLED
    with responses.RequestsMock() as mock:
        assert services.ingestion_execute(run_pk=run.pk) is None
        assert len(mock.calls) == 0
    assert TaxRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{not json", "with a body that is not JSON"),
        (
            '{"data": [{"id": "x1", "category": "horoscope", "sign": "leo"}], "next_cursor": null}',
            "category: 'horoscope' where 'tax' was requested",
        ),
        (
            '{"data": [{"id": "x1", "category": "tax", "period": "2026-13", "tax_paid": "1.00", "arrears": "0.00"}], "next_cursor": null}',
            "period: '2026-13' is not a YYYY-MM month",
        ),
    ],
)
def test_malformed_provider_data_is_logged_and_nothing_is_stored(
    django_capture_on_commit_callbacks, caplog, body, error
):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["customs", "tax"])
    uscc = enterprise.uscc
    run = _run(enterprise, owner, capture=django_capture_on_commit_callbacks)
    with responses.RequestsMock() as mock:
        serve(mock, uscc, "customs", [[customs(uscc, "2026-01")]])
        serve(mock, uscc, "tax", body=body)
        services.ingestion_execute(run_pk=run.pk)
    run.refresh_from_db()
    assert run.status == IngestionStatus.FAILED
    assert run.category_results["tax"]["status"] == "malformed"
    assert error in run.category_results["tax"]["error"]
    assert run.error.startswith("tax: ")
    assert TaxRecord.objects.count() == 0
    assert CustomsRecord.objects.count() == 1  # the healthy category is still stored
    assert "malformed provider data, nothing stored" in caplog.text
    assert list(DataAccessLog.objects.values_list("category", flat=True)) == ["customs"]


def test_data_quality_findings_are_stored_for_the_operator(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["administrative", "tax"])
    uscc = enterprise.uscc
    future = f"{timezone.localdate().year + 1}-01-15"
    run = _run(enterprise, owner, capture=django_capture_on_commit_callbacks)
    with responses.RequestsMock() as mock:
        serve(
            mock,
            uscc,
            "tax",
            [[tax(uscc, "2025-01"), tax(uscc, "2025-04", arrears="-5.00")]],
        )
        duplicate = penalty(uscc, "罚〔2025〕9号", "2025-05-01")
        twin = {**duplicate, "id": duplicate["id"] + "-b"}
        serve(
            mock,
            uscc,
            "administrative",
            [[duplicate, twin, penalty(uscc, "罚〔2099〕1号", future)]],
        )
        services.ingestion_execute(run_pk=run.pk)
    findings = sorted(
        DataQualityFinding.objects.values_list("category", "rule", "severity")
    )
    assert findings == [
        ("administrative", "duplicate_decision_number", "error"),
        ("administrative", "future_date", "error"),
        ("tax", "missing_months", "warning"),
        ("tax", "negative_amount", "error"),
    ]
    gap = DataQualityFinding.objects.get(rule="missing_months")
    assert gap.message == "2 missing month(s): 2025-02, 2025-03"
    assert (
        DataQualityFinding.objects.get(rule="negative_amount").message
        == "arrears is negative (-5.00)"
    )
    assert AdministrativeRecord.objects.count() == 3
