"""Every read by a non-member is logged exactly once; provider webhooks are verified."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse

from accounts.models import OrganizationKind, Role
from accounts.selectors import platform_organization
from borrowers.exceptions import ConsentRequired
from borrowers.models import ConsentPurpose, DataAccessLog
from core import signing
from creditdata import selectors
from creditdata.models import IngestionRun, ProviderWebhookEvent, TaxRecord
from tests.factories import MembershipFactory, OrganizationFactory, activate_totp
from tests.factories.borrowers import enterprise_with_owner, grant

pytestmark = pytest.mark.django_db


def _tax_row(enterprise, month="2026-01-01", source_id="t1"):
    return TaxRecord.objects.create(
        enterprise=enterprise,
        source="sz",
        source_id=source_id,
        period=month,
        tax_paid="100.00",
        arrears="0.00",
    )


def _read(enterprise, user, organization, category="tax", purpose=None):
    return list(
        selectors.records_read(
            enterprise=enterprise,
            category=category,
            user=user,
            organization=organization,
            purpose=purpose,
            channel="web",
            request_id="req-abc",
        )
    )


def test_every_read_by_a_non_member_writes_exactly_one_log_row():
    enterprise, owner = enterprise_with_owner()
    _tax_row(enterprise)
    lender = OrganizationFactory(kind=OrganizationKind.LENDER)
    officer = MembershipFactory(organization=lender, role=Role.REVIEWER).user
    authorization = grant(
        enterprise,
        owner,
        grantee=lender,
        purpose=ConsentPurpose.POST_LOAN_MONITORING,
        categories=["tax"],
    )
    for expected in (1, 2, 3):
        assert len(_read(enterprise, officer, lender)) == 1
        assert DataAccessLog.objects.count() == expected
    entry = DataAccessLog.objects.first()
    assert (
        entry.actor,
        entry.organization,
        entry.enterprise,
        entry.category,
        entry.purpose,
        entry.authorization,
        entry.request_id,
        entry.channel,
    ) == (
        officer,
        lender,
        enterprise,
        "tax",
        "post_loan_monitoring",
        authorization,
        "req-abc",
        "web",
    )


def test_members_read_their_own_data_unlogged():
    enterprise, owner = enterprise_with_owner()
    _tax_row(enterprise)
    assert len(_read(enterprise, owner, enterprise.organization)) == 1
    assert DataAccessLog.objects.count() == 0


@pytest.mark.parametrize("situation", ["no_consent", "other_category", "revoked"])
def test_a_read_without_consent_is_refused_and_not_logged(situation):
    enterprise, owner = enterprise_with_owner()
    _tax_row(enterprise)
    lender = OrganizationFactory(kind=OrganizationKind.LENDER)
    officer = MembershipFactory(organization=lender, role=Role.REVIEWER).user
    if situation != "no_consent":
        authorization = grant(
            enterprise,
            owner,
            grantee=lender,
            purpose=ConsentPurpose.POST_LOAN_MONITORING,
            categories=["court"] if situation == "other_category" else ["tax"],
        )
        if situation == "revoked":
            from borrowers.services import authorization_revoke

            authorization_revoke(authorization=authorization, revoked_by=owner)
    with pytest.raises(ConsentRequired):
        _read(enterprise, officer, lender)
    assert DataAccessLog.objects.count() == 0


def test_operator_record_page_is_404_without_consent_and_logged_with_it(client):
    enterprise, owner = enterprise_with_owner()
    _tax_row(enterprise)
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    url = reverse("creditdata:operator_records", args=[enterprise.pk, "tax"])
    assert client.get(url).status_code == 404
    assert DataAccessLog.objects.count() == 0
    grant(enterprise, owner, categories=["tax"])
    response = client.get(url, HTTP_X_REQUEST_ID="req-operator-0001")
    assert response.status_code == 200
    assert "t1" in response.content.decode()
    assert list(DataAccessLog.objects.values_list("actor", "request_id")) == [
        (operator.pk, "req-operator-0001")
    ]


def _event(uscc, event_id="evt_1", event_type="records.updated", category="tax"):
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created": int(time.time()),
            "data": {"uscc": uscc, "category": category, "record_ids": ["x"]},
        }
    ).encode()


def _post(client, body, header):
    return client.post(
        "/webhooks/provider/",
        data=body,
        content_type="application/json",
        **({"HTTP_X_XYD_SIGNATURE": header} if header is not None else {}),
    )


def test_signed_webhook_starts_a_pull_of_that_category(
    client, settings, django_capture_on_commit_callbacks
):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["tax", "court"])
    body = _event(enterprise.uscc)
    header = signing.sign(settings.CREDIT_PROVIDER_WEBHOOK_SECRET, body)
    with django_capture_on_commit_callbacks(execute=False):
        response = _post(client, body, header)
    assert response.status_code == 200
    assert response.json() == {"received": "evt_1", "pulls_started": 1}
    assert list(IngestionRun.objects.values_list("categories", flat=True)) == [["tax"]]


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda secret, body: (body, None), "missing_header"),
        (lambda secret, body: (body, "t=abc,v1=00"), "malformed_header"),
        (
            lambda secret, body: (body, signing.sign("wrong-secret", body)),
            "bad_signature",
        ),
        (
            lambda secret, body: (body + b" ", signing.sign(secret, body)),
            "bad_signature",
        ),
        (
            lambda secret, body: (
                body,
                signing.sign(secret, body, timestamp=int(time.time()) - 301),
            ),
            "stale_timestamp",
        ),
    ],
)
def test_bad_webhooks_are_rejected_and_nothing_is_stored(
    client, settings, mutate, reason
):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["tax"])
    body, header = mutate(
        settings.CREDIT_PROVIDER_WEBHOOK_SECRET, _event(enterprise.uscc)
    )
    response = _post(client, body, header)
    assert response.status_code == 400
    assert response.json() == {"error": reason}
    assert ProviderWebhookEvent.objects.count() == 0
    assert IngestionRun.objects.count() == 0


def test_a_replayed_webhook_is_rejected(
    client, settings, django_capture_on_commit_callbacks
):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["tax"])
    body = _event(enterprise.uscc)
    header = signing.sign(settings.CREDIT_PROVIDER_WEBHOOK_SECRET, body)
    with django_capture_on_commit_callbacks(execute=False):
        assert _post(client, body, header).status_code == 200
        replay = _post(client, body, header)
    assert replay.status_code == 409
    assert replay.json() == {"error": "replayed_event"}
    assert ProviderWebhookEvent.objects.count() == 1
    assert IngestionRun.objects.count() == 1


def test_webhook_for_an_enterprise_without_consent_is_recorded_but_pulls_nothing(
    client, settings
):
    enterprise, _owner = enterprise_with_owner()
    body = _event(enterprise.uscc, event_type="record.repaired")
    response = _post(
        client, body, signing.sign(settings.CREDIT_PROVIDER_WEBHOOK_SECRET, body)
    )
    assert response.json() == {"received": "evt_1", "pulls_started": 0}
    assert IngestionRun.objects.count() == 0
