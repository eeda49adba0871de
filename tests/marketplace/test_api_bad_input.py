"""Bad input to the bank API's applications: a 400 naming the field (or a 404 / 409
with a code), never a 500, never ignored, and nothing changed."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any
from urllib.parse import quote

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from borrowers.models import DataAccessLog
from lenders.apikeys import api_key_create
from marketplace import services
from marketplace.models import (
    Application,
    ApplicationEvent,
    InformationRequest,
)
from tests.factories.lenders import listed_product
from tests.factories.marketplace import application_in, bank_actor, staff

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/applications/"


def client_for(application: Application) -> APIClient:
    _key, raw = api_key_create(
        lender=application.lender,
        name="core banking",
        scopes=["applications:read", "applications:write"],
        created_by=staff(application, "admin"),
    )
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def state(application: Application) -> tuple[Any, ...]:
    application.refresh_from_db()
    return (
        application.status,
        application.version,
        application.offered_amount,
        application.offered_rate,
        application.offered_term,
        application.rejection_reasons,
        application.decision_note,
        application.disbursed_amount,
        application.disbursed_on,
        application.repaid_on,
        application.days_past_due,
        ApplicationEvent.objects.filter(application=application).count(),
        InformationRequest.objects.filter(application=application).count(),
        DataAccessLog.objects.count(),
    )


def post(client: APIClient, application: Application, name: str, body: Any):
    return client.post(
        f"{LIST_URL}{application.reference}/actions/{name}/",
        json.dumps(body),
        content_type="application/json",
    )


@pytest.fixture
def reviewing():
    """Under review, for a product lending CNY 100,000–3,000,000 at 3.45–6.50 % for
    6–36 months."""
    application = application_in("under_review")
    return application, client_for(application)


@pytest.fixture
def approved():
    application = application_in("under_review")
    application = services.application_approve(
        application=application,
        actor=bank_actor(application),
        amount="500000",
        rate="4.35",
        term=12,
    )
    return application, client_for(application)


# --- Action bodies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "errors"),
    [
        (
            "approve",
            {"amount": "5000000.00", "rate": "4.00", "term": 12},
            {
                "amount": [
                    "Outside this product's range (CNY 100,000.00 to 3,000,000.00)."
                ]
            },
        ),
        (
            "approve",
            {"amount": "500000.00", "rate": "9.99", "term": 48},
            {
                "rate": ["Outside this product's range (3.45% to 6.50% a year)."],
                "term": ["Outside this product's range (6 to 36 months)."],
            },
        ),
        (
            "counter_offer",
            {"amount": "50000.00", "rate": "4.00", "term": 12},
            {
                "amount": [
                    "Outside this product's range (CNY 100,000.00 to 3,000,000.00)."
                ]
            },
        ),
        (
            "approve",
            {"amount": 500000, "rate": "4.00", "term": 12},
            {
                "amount": [
                    "Send the number as a JSON string of digits, for example “3.45”."
                ]
            },
        ),
        (
            "approve",
            {"amount": "500000.00", "rate": "4.00", "term": "12"},
            {"term": ["A valid integer is required."]},
        ),
        (
            "approve",
            {"rate": "4.00", "term": 12},
            {"amount": ["This field is required."]},
        ),
        (
            "reject",
            {"note": "信用等级不足。"},
            {"reasons": ["This field is required."]},
        ),
        (
            "reject",
            {"reasons": [], "note": "信用等级不足。"},
            {"reasons": ["This list may not be empty."]},
        ),
        (
            "reject",
            {"reasons": ["bad_mood"], "note": "信用等级不足。"},
            {"reasons": ['Item 0: "bad_mood" is not a valid choice.']},
        ),
        (
            "reject",
            {"reasons": ["credit_grade"], "note": "   "},
            {"note": ["This field may not be blank."]},
        ),
        (
            "reject",
            {"reasons": ["credit_grade"]},
            {"note": ["This field is required."]},
        ),
        (
            "request_info",
            {"question": ""},
            {"question": ["This field may not be blank."]},
        ),
        (
            "request_info",
            {"question": "x" * 2001},
            {"question": ["Ensure this field has no more than 2000 characters."]},
        ),
        (
            "request_info",
            {"question": "请补充\x00"},
            {"question": ["Null characters are not allowed."]},
        ),
        (
            "request_info",
            {"question": "请补充", "note": "x" * 2001},
            {"note": ["Ensure this field has no more than 2000 characters."]},
        ),
        (
            "request_info",
            {"question": "请补充", "version": "3"},
            {"version": ["A valid integer is required."]},
        ),
        (
            "request_info",
            {"question": "请补充", "version": 0},
            {"version": ["Ensure this value is greater than or equal to 1."]},
        ),
    ],
)
def test_a_bad_review_body_is_a_400_naming_the_field(reviewing, name, body, errors):
    application, client = reviewing
    before = state(application)

    response = post(client, application, name, body)

    assert (response.status_code, response.json()) == (400, errors)
    assert state(application) == before


@pytest.mark.parametrize(
    ("name", "body", "errors"),
    [
        (
            "disburse",
            {"amount": "500000.01", "disbursed_on": "TODAY"},
            {"amount": ["More than the CNY 500,000.00 approved."]},
        ),
        (
            "disburse",
            {"amount": "100000.00", "disbursed_on": "TOMORROW"},
            {"disbursed_on": ["The date is in the future."]},
        ),
        (
            "disburse",
            {"amount": "100000.00", "disbursed_on": "2026-1-5"},
            {
                "disbursed_on": [
                    "Date has wrong format. Use one of these formats "
                    "instead: YYYY-MM-DD."
                ]
            },
        ),
        (
            "disburse",
            {"amount": "100000.00", "disbursed_on": "2026-02-30"},
            {
                "disbursed_on": [
                    "Date has wrong format. Use one of these formats "
                    "instead: YYYY-MM-DD."
                ]
            },
        ),
        (
            "disburse",
            {"amount": "100000.00"},
            {"disbursed_on": ["This field is required."]},
        ),
    ],
)
def test_a_bad_disbursement_is_a_400_naming_the_field(approved, name, body, errors):
    application, client = approved
    today = timezone.localdate()
    replace = {"TODAY": today, "TOMORROW": today + dt.timedelta(days=1)}
    body = {
        key: replace[value].isoformat() if value in replace else value
        for key, value in body.items()
    }
    before = state(application)

    response = post(client, application, name, body)

    assert (response.status_code, response.json()) == (400, errors)
    assert state(application) == before


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("report_repaid", {"repaid_on": "2026-01-05"}),
        ("report_overdue", {"days_past_due": 10}),
    ],
)
def test_an_outcome_for_an_undisbursed_loan_is_a_409(approved, name, body):
    application, client = approved
    before = state(application)

    response = post(client, application, name, body)

    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"
    assert state(application) == before


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("approve", {"amount": "500000.00", "rate": "4.00", "term": 12}),
        ("accept", {}),
        ("disburse", {"amount": "100000.00", "disbursed_on": "2026-01-05"}),
    ],
)
def test_an_action_from_the_wrong_state_is_a_409_with_its_code(name, body):
    application = application_in("accepted")
    client = client_for(application)
    before = state(application)

    response = post(client, application, name, body)

    assert response.status_code == 409
    assert response.json()["code"] == "transition_not_allowed"
    assert "“Accepted by the bank”" in response.json()["detail"]
    assert state(application) == before


def test_a_stale_version_is_a_409_and_nothing_is_done(reviewing):
    application, client = reviewing
    application.refresh_from_db()
    before = state(application)

    response = post(
        client,
        application,
        "approve",
        {"amount": "500000.00", "rate": "4.00", "term": 12, "version": 2},
    )

    assert (response.status_code, response.json()) == (
        409,
        {
            "detail": "The application changed since you loaded it (version 2, now "
            "3); reload it and try again.",
            "code": "stale_version",
        },
    )
    assert state(application) == before


def test_the_current_version_is_accepted(reviewing):
    application, client = reviewing
    application.refresh_from_db()

    response = post(client, application, "start_review", {"version": 3})

    assert response.status_code == 409  # wrong state, not stale: it is checked first
    assert response.json()["code"] == "transition_not_allowed"


@pytest.mark.parametrize(
    "body",
    ["[1, 2]", '"approve"', "{", "[" * 100_000 + "]" * 100_000],
)
def test_a_body_that_is_not_a_json_object_is_a_400(reviewing, body):
    application, client = reviewing
    before = state(application)

    response = client.post(
        f"{LIST_URL}{application.reference}/actions/accept/",
        body,
        content_type="application/json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert state(application) == before


def test_a_form_body_is_a_415(reviewing):
    application, client = reviewing
    before = state(application)

    response = client.post(
        f"{LIST_URL}{application.reference}/actions/request_info/",
        {"question": "x"},
        format="multipart",
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert state(application) == before


# --- Paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "XYD-2026-000000/",
        "not-a-reference/",
        quote("XYD\x00-1") + "/",
        quote("XYD-2026/000001") + "/",
        "{reference}/documents/0/",
        "{reference}/documents/-1/",
        "{reference}/documents/99999999999999999999999/",
        "{reference}/documents/999999999999999999/",
        "{reference}/actions/",
        "{reference}/actions/approve/extra/",
    ],
)
def test_a_path_that_is_no_application_of_the_bank_is_a_json_404(reviewing, path):
    application, client = reviewing

    response = client.get(LIST_URL + path.replace("{reference}", application.reference))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"] == "Not found."
    assert response.json()["code"] in {"not_found", "unknown_action"}


def test_a_get_on_an_action_is_a_405(reviewing):
    application, client = reviewing

    response = client.get(f"{LIST_URL}{application.reference}/actions/approve/")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# --- List filters --------------------------------------------------------------------------


def _cursor(position: str) -> str:
    return base64.b64encode(f"p={position}".encode()).decode()


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"status": "pending"}, {"status": ['"pending" is not a valid choice.']}),
        ({"status": ""}, {"status": ['"" is not a valid choice.']}),
        ({"district": "110101"}, {"district": ['"110101" is not a valid choice.']}),
        (
            {"product": "no-such-product"},
            {"product": ["You have no product with this code."]},
        ),
        (
            {"product": "rival-1"},
            {"product": ["You have no product with this code."]},
        ),
        (
            {"product": "kc 1"},
            {"product": ["This value does not match the required pattern."]},
        ),
        ({"product": ""}, {"product": ["This field may not be blank."]}),
        (
            {"amount_min": "1e5"},
            {"amount_min": ["A valid number is required."]},
        ),
        (
            {"amount_max": "100.001"},
            {"amount_max": ["Ensure that there are no more than 2 decimal places."]},
        ),
        (
            {"amount_min": "900000", "amount_max": "100000"},
            {"amount_max": ["The maximum must not be below the minimum."]},
        ),
        (
            {"updated_since": "2026-03-01"},
            {
                "updated_since": [
                    "Give a date and time with its offset, for example "
                    "“2026-03-01T08:00:00+08:00”."
                ]
            },
        ),
        (
            {"updated_since": "2026-03-01T08:00:00"},
            {
                "updated_since": [
                    "Give a date and time with its offset, for example "
                    "“2026-03-01T08:00:00+08:00”."
                ]
            },
        ),
        (
            {"updated_since": "0001-01-01T00:00:00+08:00"},
            {
                "updated_since": [
                    "Give a date and time with its offset, for example "
                    "“2026-03-01T08:00:00+08:00”."
                ]
            },
        ),
        (
            {"updated_since": "2026-03-01T08:00:00+99:00"},
            {
                "updated_since": [
                    "Give a date and time with its offset, for example "
                    "“2026-03-01T08:00:00+08:00”."
                ]
            },
        ),
        (
            {"page_size": "0"},
            {
                "page_size": [
                    "Must be a whole number of at least 1 (a page holds at most 200 "
                    "applications)."
                ]
            },
        ),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(reviewing, query, errors):
    _application, client = reviewing
    from tests.factories.lenders import lender_with_staff

    rival, _admin, _reviewer = lender_with_staff()
    listed_product(lender=rival, code="rival-1")

    response = client.get(LIST_URL, query)

    assert (response.status_code, response.json()) == (400, errors)


def test_a_filter_given_twice_is_a_400(reviewing):
    _application, client = reviewing

    response = client.get(f"{LIST_URL}?status=submitted&status=accepted")

    assert (response.status_code, response.json()) == (
        400,
        {"status": ["Give this filter once."]},
    )


@pytest.mark.parametrize("position", ["not-a-date", "\x00", "2026-13-45 99:99"])
def test_a_forged_cursor_is_a_404(reviewing, position):
    _application, client = reviewing

    response = client.get(LIST_URL, {"cursor": _cursor(position)})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor", "code": "not_found"}
