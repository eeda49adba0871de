"""The bank API's applications (``/api/v1/applications/``): the list with its filters
and cursors, the detail, the consent-gated profile and documents, every bank action,
scopes, and isolation between banks.

Every refusal also checks that nothing changed: the application's status, version and
history, and the applicant's access log.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from accounts.models import Membership, Role
from borrowers.models import AccessChannel, ConsentPurpose, DataAccessLog
from borrowers.services import authorization_revoke
from creditdata.models import AdministrativeRecord, CourtRecord, TaxRecord
from lenders.apikeys import api_key_create
from marketplace import services, transitions
from marketplace.models import Application, ApplicationEvent, ApplicationStatus
from marketplace.services import UploadedDocument
from tests.factories.accounts import activate_totp
from tests.factories.lenders import lender_with_staff, listed_product
from tests.factories.marketplace import (
    applicant,
    application_in,
    bank_actor,
    sme_actor,
    staff,
    submitted_application,
)

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/applications/"
READ_WRITE = ["applications:read", "applications:write"]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def url(application: Application, *parts: str) -> str:
    return f"{LIST_URL}{application.reference}/" + "".join(f"{p}/" for p in parts)


def action_url(application: Application, name: str) -> str:
    return url(application, "actions", name)


def key_client(lender, scopes=READ_WRITE, **headers: str) -> APIClient:
    """A client with a new key of ``lender`` (made by a new administrator)."""
    admin = staff_of(lender, Role.ADMIN)
    _key, raw = api_key_create(
        lender=lender, name="core banking", scopes=scopes, created_by=admin
    )
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en", **headers
    )
    client.key_prefix = raw.split("_")[1]  # type: ignore[attr-defined]
    client.key_admin = admin  # type: ignore[attr-defined]
    return client


def staff_of(lender, role: str):
    from tests.factories.accounts import UserFactory

    user = UserFactory()
    Membership.objects.create(user=user, organization=lender.organization, role=role)
    return user


def local(value: dt.datetime | None) -> str | None:
    """A datetime as the API writes it (ISO 8601 in Asia/Shanghai)."""
    return None if value is None else timezone.localtime(value).isoformat()


def state(application: Application) -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    application.refresh_from_db()
    return (
        application.status,
        application.version,
        application.offered_amount,
        application.disbursed_amount,
        ApplicationEvent.objects.filter(application=application).count(),
        DataAccessLog.objects.filter(enterprise=application.enterprise).count(),
    )


def add_records(enterprise) -> None:
    """Two tax months and a court case (the product's categories), and a penalty
    (a category the application's consent does not cover)."""
    fetched = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
    TaxRecord.objects.create(
        enterprise=enterprise,
        source="sandbox",
        source_id="tax-2025-12",
        fetched_at=fetched,
        period=dt.date(2025, 12, 1),
        tax_paid=Decimal("12000.50"),
        arrears=Decimal("0"),
        credit_grade="A",
    )
    TaxRecord.objects.create(
        enterprise=enterprise,
        source="sandbox",
        source_id="tax-2025-11",
        fetched_at=fetched,
        period=dt.date(2025, 11, 1),
        tax_paid=Decimal("9800.00"),
        arrears=Decimal("150.00"),
        credit_grade=None,
    )
    CourtRecord.objects.create(
        enterprise=enterprise,
        source="sandbox",
        source_id="court-1",
        fetched_at=fetched,
        record_type="judgement",
        case_number="(2024)粤0305民初123号",
        court="深圳市南山区人民法院",
        filed_on=dt.date(2024, 3, 1),
        amount=Decimal("50000.00"),
        dishonest_debtor=False,
        concluded_on=dt.date(2024, 9, 1),
    )
    AdministrativeRecord.objects.create(
        enterprise=enterprise,
        source="sandbox",
        source_id="pen-1",
        fetched_at=fetched,
        record_type="penalty",
        decision_number="深市监罚〔2024〕1号",
        authority="深圳市市场监督管理局",
        decided_on=dt.date(2024, 5, 1),
        amount=Decimal("2000.00"),
        severity="minor",
        repaired=False,
    )


def answer_with_document(application: Application) -> Application:
    """The SME answers the bank's question with a PDF."""
    return services.application_answer_info(
        application=application,
        actor=sme_actor(application),
        answer="已上传近三个月银行流水。",
        files=[UploadedDocument("流水.pdf", PDF)],
    )


@pytest.fixture
def bank():
    """A bank with one listed product (tax and court data) and an API key."""
    lender, _admin, _reviewer = lender_with_staff()
    product = listed_product(
        lender=lender, code="kcd-1", required_categories=["tax", "court"]
    )
    return lender, product, key_client(lender)


@pytest.fixture
def reviewing():
    """An application under review, its enterprise's records, and the bank's key."""
    application = application_in("under_review")
    add_records(application.enterprise)
    return application, key_client(application.lender)


@pytest.fixture
def rival():
    """Another bank's key."""
    lender, _admin, _reviewer = lender_with_staff()
    return key_client(lender)


# --- The list --------------------------------------------------------------------------


def summary(application: Application) -> dict[str, Any]:
    application.refresh_from_db()
    return {
        "reference": application.reference,
        "status": application.status,
        "version": application.version,
        "product": application.product.code,
        "product_name": application.product.name,
        "enterprise": {
            "name": application.enterprise.name,
            "uscc": application.enterprise.uscc,
        },
        "district": application.district,
        "requested_amount": f"{application.requested_amount:.2f}",
        "requested_term": application.requested_term,
        "currency": "CNY",
        "grade": application.snapshot_grade,
        "submitted_at": local(application.submitted_at),
        "due_at": local(application.due_at),
        "created_at": local(application.created_at),
        "updated_at": local(application.updated_at),
    }


def test_list_shows_only_the_keys_banks_applications_newest_first(bank, rival):
    _lender, product, client = bank
    first = submitted_application(product=product)
    second = submitted_application(product=product, amount="800000")
    submitted_application()  # another bank's

    response = client.get(LIST_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert body["previous"] is None
    assert body["results"] == [summary(second), summary(first)]
    assert rival.get(LIST_URL).json()["results"] == []


def test_list_filters_by_status_product_district_amount_and_update_time(bank):
    lender, product, client = bank
    other_product = listed_product(
        lender=lender, code="kcd-2", required_categories=["tax"]
    )
    futian, futian_owner = applicant(district="440304")
    small = submitted_application(product=product, amount="200000")
    large = submitted_application(product=product, amount="2000000")
    in_futian = submitted_application(
        product=product, enterprise=futian, owner=futian_owner, amount="600000"
    )
    elsewhere = submitted_application(product=other_product, amount="600000")
    services.application_accept(application=large, actor=bank_actor(large))
    long_ago = timezone.now() - dt.timedelta(days=30)
    Application.objects.exclude(pk=large.pk).update(updated_at=long_ago)
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()

    def references(**query: str) -> list[str]:
        response = client.get(LIST_URL, query)
        assert response.status_code == 200, response.json()
        return [row["reference"] for row in response.json()["results"]]

    everything = [elsewhere, in_futian, large, small]
    assert references() == [a.reference for a in everything]
    assert references(status="accepted") == [large.reference]
    assert references(status="submitted") == [
        elsewhere.reference,
        in_futian.reference,
        small.reference,
    ]
    assert references(product="kcd-2") == [elsewhere.reference]
    assert references(district="440304") == [in_futian.reference]
    assert references(amount_min="600000") == [
        elsewhere.reference,
        in_futian.reference,
        large.reference,
    ]
    assert references(amount_max="600000.00") == [
        elsewhere.reference,
        in_futian.reference,
        small.reference,
    ]
    assert references(amount_min="500000", amount_max="700000", product="kcd-1") == [
        in_futian.reference
    ]
    assert references(updated_since=since) == [large.reference]
    assert references(status="rejected") == []


def test_list_pages_follow_their_cursors_and_never_repeat(bank):
    _lender, product, client = bank
    created = [submitted_application(product=product) for _ in range(3)]

    first = client.get(LIST_URL, {"page_size": "2"}).json()
    second = client.get(first["next"]).json()

    assert [row["reference"] for row in first["results"]] == [
        created[2].reference,
        created[1].reference,
    ]
    assert [row["reference"] for row in second["results"]] == [created[0].reference]
    assert second["next"] is None
    back = client.get(second["previous"]).json()
    assert [row["reference"] for row in back["results"]] == [
        created[2].reference,
        created[1].reference,
    ]


# --- The detail ------------------------------------------------------------------------


def test_detail_has_the_application_frozen_score_history_and_allowed_actions(
    reviewing,
):
    application, client = reviewing
    application.refresh_from_db()

    response = client.get(url(application))

    assert response.status_code == 200
    events = list(application.events.order_by("version"))
    assert response.json() == {
        **summary(application),
        "purpose": "采购原材料",
        "paused_seconds_left": None,
        "score": {
            "model_version": application.snapshot_model_version,
            "score": 640.0,
            "pd": 0.04,
            "grade": "B",
            "as_of": application.snapshot_as_of.isoformat(),
            "reasons": [],
        },
        "decision": None,
        "outcome": None,
        "information_requests": [],
        "history": [
            {
                "action": event.action,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "version": event.version,
                "at": local(event.created_at),
                "by": by,
                "channel": "web",
                "note": "",
            }
            for event, by in zip(events, ["applicant", "bank", "bank"], strict=True)
        ],
        "allowed_actions": ["request_info", "approve", "counter_offer", "reject"],
    }
    assert [event.action for event in events] == ["submit", "accept", "start_review"]


def test_detail_reasons_are_given_in_both_languages():
    application = application_in("submitted")
    reasons = [
        {
            "factor": "penalties",
            "feature": "penalties_unrepaired",
            "contribution": 0.4,
            "factor_zh": "行政处罚",
            "factor_en": "Administrative penalties",
            "text_zh": "有 2 项未修复的行政处罚。",
            "text_en": "2 unrepaired administrative penalties.",
        }
    ]
    Application.objects.filter(pk=application.pk).update(snapshot_reasons=reasons)
    client = key_client(application.lender)

    body = client.get(url(application)).json()

    assert body["score"]["reasons"] == reasons


def test_detail_shows_questions_answers_and_document_metadata(reviewing):
    application, client = reviewing
    application = services.application_request_info(
        application=application,
        actor=bank_actor(application),
        question="请提供近三个月的银行流水。",
    )
    paused = client.get(url(application)).json()
    application = answer_with_document(application)
    request = application.information_requests.get()
    document = request.documents.get()

    body = client.get(url(application)).json()

    assert paused["status"] == "info_requested"
    assert paused["due_at"] is None
    assert paused["paused_seconds_left"] > 0
    assert paused["allowed_actions"] == []
    assert body["information_requests"] == [
        {
            "id": request.pk,
            "question": "请提供近三个月的银行流水。",
            "asked_at": local(request.created_at),
            "answer": "已上传近三个月银行流水。",
            "answered_at": local(request.answered_at),
            "documents": [
                {
                    "id": document.pk,
                    "filename": "流水.pdf",
                    "content_type": "application/pdf",
                    "size": len(PDF),
                    "uploaded_at": local(document.created_at),
                    "url": f"http://testserver{url(application)}documents/"
                    f"{document.pk}/",
                }
            ],
        }
    ]
    assert body["paused_seconds_left"] is None
    assert [event["by"] for event in body["history"]][-2:] == ["bank", "applicant"]


@pytest.mark.parametrize(
    "status", ["submitted", "accepted", "under_review", "info_requested"]
)
def test_allowed_actions_come_from_the_transition_table(status):
    application = application_in(status)
    client = key_client(application.lender)

    body = client.get(url(application)).json()

    expected = [
        transition.action
        for transition in transitions.allowed_transitions(
            status, {transitions.BANK_ADMIN}
        )
    ]
    assert body["allowed_actions"] == expected


def test_a_read_only_key_is_offered_no_action(reviewing):
    application, _client = reviewing
    client = key_client(application.lender, scopes=["applications:read"])

    assert client.get(url(application)).json()["allowed_actions"] == []


def test_rejection_reasons_are_labelled_in_the_clients_language(reviewing):
    application, client = reviewing
    client.post(
        action_url(application, "reject"),
        {"reasons": ["credit_grade", "penalties"], "note": "信用等级不足。"},
        format="json",
    )

    english = client.get(url(application)).json()["decision"]
    chinese = client.get(url(application), HTTP_ACCEPT_LANGUAGE="zh-hans").json()

    assert english["rejection_reasons"] == [
        {
            "code": "credit_grade",
            "label": "Credit grade below the product's requirement",
        },
        {"code": "penalties", "label": "Unrepaired administrative penalties"},
    ]
    assert [r["code"] for r in chinese["decision"]["rejection_reasons"]] == [
        "credit_grade",
        "penalties",
    ]
    assert english["note"] == "信用等级不足。"
    assert english["offered_amount"] is None


# --- The profile and documents ---------------------------------------------------------


def test_profile_shows_the_consented_categories_and_logs_one_read_each(reviewing):
    application, client = reviewing
    application.refresh_from_db()
    enterprise = application.enterprise
    authorization = application.authorization

    response = client.get(url(application, "profile"), HTTP_X_REQUEST_ID="req-0042-abc")

    assert response.status_code == 200
    assert response["X-Request-Id"] == "req-0042-abc"
    assert response.json() == {
        "reference": application.reference,
        "consent": {
            "id": authorization.pk,
            "purpose": "loan_review",
            "scope": ["court", "tax"],
            "granted_at": local(authorization.granted_at),
            "valid_to": local(authorization.valid_to),
        },
        "enterprise": {
            "name": enterprise.name,
            "uscc": enterprise.uscc,
            "legal_representative": enterprise.legal_representative,
            "registered_capital": f"{enterprise.registered_capital:.2f}",
            "currency": "CNY",
            "founded_on": enterprise.founded_on.isoformat(),
            "industry": enterprise.industry,
            "district": enterprise.district,
            "employees": enterprise.employees,
        },
        "score": {
            "model_version": application.snapshot_model_version,
            "score": 640.0,
            "pd": 0.04,
            "grade": "B",
            "as_of": application.snapshot_as_of.isoformat(),
            "reasons": [],
        },
        "categories": [
            {
                "category": "tax",
                "label": "Tax",
                "records": [
                    {
                        "id": "tax-2025-11",
                        "category": "tax",
                        "period": "2025-11",
                        "tax_paid": "9800.00",
                        "arrears": "150.00",
                        "credit_grade": None,
                        "source": "sandbox",
                        "fetched_at": "2026-01-05T10:00:00+00:00",
                    },
                    {
                        "id": "tax-2025-12",
                        "category": "tax",
                        "period": "2025-12",
                        "tax_paid": "12000.50",
                        "arrears": "0.00",
                        "credit_grade": "A",
                        "source": "sandbox",
                        "fetched_at": "2026-01-05T10:00:00+00:00",
                    },
                ],
            },
            {
                "category": "court",
                "label": "Court judgements and enforcement",
                "records": [
                    {
                        "id": "court-1",
                        "category": "court",
                        "record_type": "judgement",
                        "case_number": "(2024)粤0305民初123号",
                        "court": "深圳市南山区人民法院",
                        "filed_on": "2024-03-01",
                        "amount": "50000.00",
                        "dishonest_debtor": False,
                        "concluded_on": "2024-09-01",
                        "source": "sandbox",
                        "fetched_at": "2026-01-05T10:00:00+00:00",
                    }
                ],
            },
        ],
    }
    assert "深市监罚" not in response.content.decode()  # a category not consented
    logs = list(
        DataAccessLog.objects.filter(enterprise=enterprise).order_by("category")
    )
    assert [
        (
            log.category,
            log.purpose,
            log.organization_id,
            log.authorization_id,
            log.channel,
            log.request_id,
            log.actor_id,
        )
        for log in logs
    ] == [
        (
            category,
            ConsentPurpose.LOAN_REVIEW,
            application.lender.organization_id,
            authorization.pk,
            AccessChannel.API,
            "req-0042-abc",
            None,
        )
        for category in ["court", "tax"]
    ]


def _revoke(application: Application) -> None:
    application.refresh_from_db()
    authorization_revoke(
        authorization=application.authorization,
        revoked_by=application.submitted_by,
        reason="不再授权",
    )


def _reject(application: Application) -> None:
    services.application_reject(
        application=application,
        actor=bank_actor(application),
        reasons=["credit_grade"],
        note="信用等级不足。",
    )


def _withdraw(application: Application) -> None:
    services.application_withdraw(application=application, actor=sme_actor(application))


def _approve(application: Application) -> None:
    services.application_approve(
        application=application,
        actor=bank_actor(application),
        amount="500000",
        rate="4.00",
        term=12,
    )


@pytest.mark.parametrize("end", [_revoke, _reject, _withdraw, _approve])
def test_once_the_consent_ends_profile_and_documents_are_404_and_nothing_is_logged(
    end,
):
    application = application_in("info_requested")
    application = answer_with_document(application)
    add_records(application.enterprise)
    client = key_client(application.lender)
    document = application.information_requests.get().documents.get()
    assert client.get(url(application, "documents", str(document.pk))).status_code == (
        200
    )
    end(application)
    before = DataAccessLog.objects.count()

    profile = client.get(url(application, "profile"))
    file = client.get(url(application, "documents", str(document.pk)))

    assert (profile.status_code, profile.json()) == (
        404,
        {"detail": "Not found.", "code": "not_found"},
    )
    assert (file.status_code, file.json()) == (
        404,
        {"detail": "Not found.", "code": "not_found"},
    )
    assert DataAccessLog.objects.count() == before
    # The application itself stays readable: the bank decided it, or was told.
    assert client.get(url(application)).status_code == 200


def test_a_document_is_served_as_an_attachment_under_the_consent():
    application = answer_with_document(application_in("info_requested"))
    document = application.information_requests.get().documents.get()
    client = key_client(application.lender)

    response = client.get(
        url(application, "documents", str(document.pk)), HTTP_ACCEPT="application/pdf"
    )

    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E6%B5%81%E6%B0%B4.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"


def test_another_applications_document_is_404():
    application = answer_with_document(application_in("info_requested"))
    document = application.information_requests.get().documents.get()
    other = application_in("under_review", product=application.product)
    client = key_client(application.lender)

    response = client.get(url(other, "documents", str(document.pk)))

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- Actions ---------------------------------------------------------------------------

ACTIONS: list[tuple[str, str, dict[str, Any], str]] = [
    ("submitted", "accept", {"note": "已受理"}, "accepted"),
    ("accepted", "start_review", {}, "under_review"),
    (
        "under_review",
        "request_info",
        {"question": "请提供纳税证明。"},
        "info_requested",
    ),
    (
        "under_review",
        "approve",
        {"amount": "450000.00", "rate": "4.35", "term": 12},
        "approved",
    ),
    (
        "under_review",
        "counter_offer",
        {"amount": "300000.00", "rate": "4.80", "term": 9},
        "counter_offered",
    ),
    (
        "under_review",
        "reject",
        {"reasons": ["credit_grade"], "note": "信用等级不足。"},
        "rejected",
    ),
]


@pytest.mark.parametrize(("start", "name", "body", "target"), ACTIONS)
def test_each_review_action_moves_the_application_and_records_the_key(
    start, name, body, target
):
    application = application_in(start)
    client = key_client(application.lender)
    version = application.version

    response = client.post(
        action_url(application, name), {**body, "version": version}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == target
    assert response.json()["version"] == version + 1
    event = ApplicationEvent.objects.get(application=application, version=version + 1)
    assert (
        event.action,
        event.from_status,
        event.to_status,
        event.channel,
        event.actor_id,
        event.organization_id,
        event.ip_address,
        event.note,
        event.data["api_key"],
    ) == (
        name,
        start,
        target,
        "api",
        None,
        application.lender.organization_id,
        "127.0.0.1",
        body.get("note", ""),
        client.key_prefix,
    )


def test_approve_stores_the_terms_offered(reviewing):
    application, client = reviewing

    body = client.post(
        action_url(application, "approve"),
        {"amount": "450000.00", "rate": "4.35", "term": 12},
        format="json",
    ).json()

    application.refresh_from_db()
    assert (
        application.offered_amount,
        application.offered_rate,
        application.offered_term,
    ) == (Decimal("450000.00"), Decimal("4.35"), 12)
    assert body["decision"] == {
        "decided_at": local(application.decided_at),
        "offered_amount": "450000.00",
        "offered_rate": "4.35",
        "offered_term": 12,
        "rejection_reasons": [],
        "note": "",
    }
    assert body["allowed_actions"] == ["disburse"]


def test_request_info_stores_the_question(reviewing):
    application, client = reviewing

    body = client.post(
        action_url(application, "request_info"),
        {"question": "请提供纳税证明。"},
        format="json",
    ).json()

    assert [r["question"] for r in body["information_requests"]] == ["请提供纳税证明。"]
    assert body["information_requests"][0]["answer"] == ""


def approved(application: Application) -> Application:
    return services.application_approve(
        application=application,
        actor=bank_actor(application),
        amount="500000",
        rate="4.35",
        term=12,
    )


def test_outcomes_are_reported_disbursed_then_overdue_then_repaid(reviewing):
    application, client = reviewing
    application = approved(application)
    today = timezone.localdate()

    disbursed = client.post(
        action_url(application, "disburse"),
        {"amount": "480000.00", "disbursed_on": today.isoformat()},
        format="json",
    )
    overdue = client.post(
        action_url(application, "report_overdue"), {"days_past_due": 30}, format="json"
    )
    repaid = client.post(
        action_url(application, "report_repaid"),
        {"repaid_on": today.isoformat(), "note": "已结清"},
        format="json",
    )

    assert [r.status_code for r in (disbursed, overdue, repaid)] == [200, 200, 200]
    assert disbursed.json()["outcome"] == {
        "disbursed_amount": "480000.00",
        "disbursed_on": today.isoformat(),
        "repaid_on": None,
        "days_past_due": None,
        "reported_on": None,
    }
    assert overdue.json()["status"] == "overdue"
    assert overdue.json()["outcome"]["days_past_due"] == 30
    assert repaid.json()["status"] == "repaid"
    assert repaid.json()["outcome"] == {
        "disbursed_amount": "480000.00",
        "disbursed_on": today.isoformat(),
        "repaid_on": today.isoformat(),
        "days_past_due": 30,
        "reported_on": today.isoformat(),
    }
    assert repaid.json()["allowed_actions"] == []


def test_every_bank_action_of_the_table_has_an_endpoint():
    from django.urls import resolve

    application = application_in("submitted")
    for name in transitions.BANK_ACTIONS:
        match = resolve(action_url(application, name))
        assert match.url_name == f"application-action-{name.replace('_', '-')}"


@pytest.mark.parametrize("name", ["withdraw", "accept_offer", "answer_info", "nope"])
def test_an_action_that_is_not_the_banks_is_404_and_changes_nothing(reviewing, name):
    application, client = reviewing
    before = state(application)

    response = client.post(action_url(application, name), {}, format="json")

    assert (response.status_code, response.json()) == (
        404,
        {"detail": "Not found.", "code": "unknown_action"},
    )
    assert state(application) == before


# --- Keys, scopes, roles ---------------------------------------------------------------


def test_a_read_only_key_cannot_act(reviewing):
    application, _client = reviewing
    client = key_client(application.lender, scopes=["applications:read"])
    before = state(application)

    response = client.post(action_url(application, "request_info"), {"question": "x"})

    assert (response.status_code, response.json()) == (
        403,
        {
            "detail": "This API key lacks the scope “applications:write”.",
            "code": "scope_missing",
        },
    )
    assert state(application) == before


@pytest.mark.parametrize("path", ["", "profile"])
def test_a_key_with_only_products_read_cannot_read_applications(reviewing, path):
    application, _client = reviewing
    client = key_client(application.lender, scopes=["products:read"])
    before = state(application)

    listed = client.get(LIST_URL)
    one = client.get(url(application, path) if path else url(application))

    for response in (listed, one):
        assert (response.status_code, response.json()) == (
            403,
            {
                "detail": "This API key lacks the scope “applications:read”.",
                "code": "scope_missing",
            },
        )
    assert state(application) == before


def test_a_key_whose_creator_is_no_longer_an_administrator_may_only_read(reviewing):
    application, client = reviewing
    Membership.objects.filter(user=client.key_admin).update(role=Role.REVIEWER)
    before = state(application)

    detail = client.get(url(application))
    response = client.post(action_url(application, "reject"), {}, format="json")
    acted = client.post(
        action_url(application, "reject"),
        {"reasons": ["other"], "note": "不予受理"},
        format="json",
    )

    assert detail.status_code == 200
    assert detail.json()["allowed_actions"] == []
    assert response.status_code == 400  # the body is checked first
    assert (acted.status_code, acted.json()["code"]) == (403, "not_permitted")
    assert state(application) == before


def test_no_key_is_401():
    application = application_in("submitted")

    response = APIClient().get(url(application))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_signed_in_reviewer_may_review_but_not_report_money():
    application = approved(application_in("under_review"))
    reviewer = staff(application, Role.REVIEWER)
    activate_totp(reviewer)  # bank staff sign in with MFA, or are sent to set it up
    client = APIClient()
    client.force_login(reviewer)
    before = state(application)

    detail = client.get(url(application), HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        action_url(application, "disburse"),
        {"amount": "100000.00", "disbursed_on": timezone.localdate().isoformat()},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert detail.json()["allowed_actions"] == []
    assert (response.status_code, response.json()["code"]) == (403, "not_permitted")
    assert state(application) == before


def test_a_signed_in_reviewer_acts_under_their_own_name(reviewing):
    application, _client = reviewing
    reviewer = staff(application, Role.REVIEWER)
    activate_totp(reviewer)
    client = APIClient()
    client.force_login(reviewer)

    response = client.post(
        action_url(application, "request_info"), {"question": "请补充"}, format="json"
    )

    assert response.status_code == 200
    event = application.events.order_by("-version").first()
    assert (event.actor_id, event.channel) == (reviewer.pk, "api")


def test_the_rate_limit_is_per_key_and_shared_with_the_products(reviewing, settings):
    application, _client = reviewing
    client = key_client(application.lender, scopes=[*READ_WRITE, "products:read"])
    other_key = key_client(application.lender)
    settings.BANK_API_RATE = "2/min"

    answers = [
        client.get(url(application)),
        client.get("/api/v1/products/"),
        client.get(LIST_URL),
    ]

    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "throttled"
    assert int(answers[2]["Retry-After"]) > 0
    assert other_key.get(LIST_URL).status_code == 200


# --- Another bank ----------------------------------------------------------------------


def test_another_bank_gets_404_on_everything_of_the_first_banks(reviewing, rival):
    application, _client = reviewing
    application = services.application_request_info(
        application=application, actor=bank_actor(application), question="请补充"
    )
    application = answer_with_document(application)
    document = application.information_requests.get().documents.get()
    before = state(application)
    not_found = {"detail": "Not found.", "code": "not_found"}

    answers = [
        rival.get(url(application)),
        rival.get(url(application, "profile")),
        rival.get(url(application, "documents", str(document.pk))),
        *(
            rival.post(action_url(application, name), {}, format="json")
            for name in transitions.BANK_ACTIONS
        ),
    ]
    unknown = rival.get(f"{LIST_URL}XYD-2026-999999/")

    assert [(r.status_code, r.json()) for r in answers] == [(404, not_found)] * len(
        answers
    )
    assert (unknown.status_code, unknown.json()) == (404, not_found)
    assert rival.get(LIST_URL).json()["results"] == []
    assert state(application) == before


# --- Schema ----------------------------------------------------------------------------


def test_the_schema_documents_every_application_operation():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)

    operations = {
        operation["operationId"]: (method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if path.startswith(LIST_URL)
    }
    assert operations == {
        "applications_list": ("GET", LIST_URL),
        "applications_retrieve": ("GET", f"{LIST_URL}{{reference}}/"),
        "applications_profile": ("GET", f"{LIST_URL}{{reference}}/profile/"),
        "applications_document": (
            "GET",
            f"{LIST_URL}{{reference}}/documents/{{document_pk}}/",
        ),
        **{
            f"applications_{name}": (
                "POST",
                f"{LIST_URL}{{reference}}/actions/{name}/",
            )
            for name in transitions.BANK_ACTIONS
        },
    }
    approve = schema["paths"][f"{LIST_URL}{{reference}}/actions/approve/"]["post"]
    assert sorted(approve["responses"]) == [
        "200",
        "400",
        "401",
        "403",
        "404",
        "406",
        "409",
        "415",
        "429",
    ]
    body = schema["components"]["schemas"]["ApproveActionRequest"]
    assert sorted(body["properties"]) == ["amount", "note", "rate", "term", "version"]
    assert sorted(body["required"]) == ["amount", "rate", "term"]


def test_the_served_schema_lists_the_applications_for_a_key(reviewing):
    _application, client = reviewing

    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    assert f"{LIST_URL}{{reference}}/actions/reject/" in response.json()["paths"]


def test_status_enum_lists_every_application_status():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    enum = schema["components"]["schemas"]["ApplicationStatusEnum"]["enum"]

    assert enum == list(ApplicationStatus.values)


# --- Documentation ---------------------------------------------------------------------


def _docs() -> str:
    from pathlib import Path

    from django.conf import settings

    return (Path(settings.BASE_DIR) / "docs" / "api.md").read_text(encoding="utf-8")


def test_docs_action_table_is_the_transition_table():
    from marketplace.api import action_request_serializer

    def body(transition: transitions.Transition) -> str:
        fields = action_request_serializer(transition)().fields
        return ", ".join(
            f"`{name}`" + (" (required)" if field.required else "")
            for name, field in fields.items()
        )

    rows = [
        f"| `{name}` | "
        + ", ".join(f"`{source}`" for source in sorted(transition.sources))
        + f" | `{transition.target}` | {body(transition)} | `{transition.event_type}` |"
        for name, transition in (
            (name, transitions.TRANSITIONS[name]) for name in transitions.BANK_ACTIONS
        )
    ]
    table = "\n".join(
        [
            "| action | from | to | body | webhook |",
            "| --- | --- | --- | --- | --- |",
            *rows,
        ]
    )

    assert table in _docs()


def test_docs_actions_per_status_are_the_transition_table():
    rows = []
    for status in ApplicationStatus.values:
        actions = [
            transition.action
            for transition in transitions.allowed_transitions(
                status, {transitions.BANK_ADMIN}
            )
        ]
        listed = ", ".join(f"`{action}`" for action in actions) or "none"
        rows.append(f"| `{status}` | {listed} |")
    table = "\n".join(["| status | actions a key may take |", "| --- | --- |", *rows])

    assert table in _docs()
