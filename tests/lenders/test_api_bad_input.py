"""Hostile input to the bank API is a 400 (or 404) with an error body, never a 500,
and changes nothing."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from lenders.apikeys import api_key_create
from lenders.models import LoanProduct
from tests.factories.lenders import LoanProductFactory, lender_with_staff

pytestmark = pytest.mark.django_db
LIST_URL = "/api/v1/products/"


@pytest.fixture
def client():
    lender, admin, _reviewer = lender_with_staff()
    LoanProductFactory(lender=lender, code="kc-1")
    _key, raw = api_key_create(
        lender=lender,
        name="core banking",
        scopes=["products:read", "products:write"],
        created_by=admin,
    )
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")
    return api


def _cursor(position: str) -> str:
    raw = f"p={position}".encode()
    return base64.b64encode(raw).decode()


def test_deeply_nested_json_is_a_400_and_creates_nothing(client):
    body = "[" * 100_000 + "]" * 100_000
    before = LoanProduct.objects.count()
    response = client.post(LIST_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["JSON parse error - nested too deeply."]
    }
    assert LoanProduct.objects.count() == before


@pytest.mark.parametrize("position", ["not-a-date", "\x00", "2026-13-45 99:99"])
def test_a_forged_cursor_is_a_404_with_an_error_body(client, position):
    response = client.get(LIST_URL, {"cursor": _cursor(position)})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


def test_a_nul_byte_in_the_path_is_a_404_not_a_500(client):
    response = client.get(LIST_URL + quote("kc\x00-1") + "/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_nul_byte_in_a_field_is_a_400_naming_the_field(client):
    before = LoanProduct.objects.count()
    response = client.post(
        LIST_URL,
        json.dumps({"code": "kc\x00-2", "name": "名\x00称"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert "code" in errors or "name" in errors
    assert LoanProduct.objects.count() == before


# --- Found by schemathesis (tests/lenders/test_api_schemathesis.py) ---------------------
#
# Each is a case the served schema described wrongly (or the API answered outside it);
# the schema and the API now agree, and these pin the exact answer.


def _terms(**overrides):
    """A product every rule accepts (the services' rules included)."""
    data = {
        "code": "kc-new",
        "name": "科创快贷",
        "description": "",
        "product_type": "credit",
        "guarantee_type": "none",
        "amount_min": "100000.00",
        "amount_max": "3000000.00",
        "term_min": 6,
        "term_max": 36,
        "rate_min": "3.45",
        "rate_max": "6.50",
        "repayment_method": "equal_instalment",
        "response_days": 5,
    }
    data.update(overrides)
    return data


def _state():
    """Everything a refused request must leave as it was."""
    return sorted(
        LoanProduct.objects.values_list(
            "code", "name", "amount_min", "term_min", "pure_credit", "updated_at"
        )
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/products/0.5/",
        "/api/v1/products/a%0A/",
        "/api/v1/products/kc-1/unknown/",
        "/api/v1/nothing-here/",
        "/api/v1/",
    ],
)
def test_a_path_the_api_does_not_have_is_its_json_404(client, path):
    """Was the site's HTML 404 page (Wagtail's catch-all): ``text/html``, which no
    operation documents."""
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_post_to_a_path_the_api_does_not_have_is_a_404_not_a_csrf_403(client):
    """Was Wagtail's page view refusing the POST for its missing CSRF cookie (an HTML
    403) — a client with a valid key was told it was forbidden, not that the path is
    wrong."""
    before = _state()

    response = client.post("/api/v1/products/k%C3%A9/submit/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert _state() == before


def test_a_path_without_its_slash_is_still_redirected(client):
    response = client.get("/api/v1/products/kc-1")

    assert response.status_code == 301
    assert response["Location"] == "/api/v1/products/kc-1/"


def test_another_banks_product_is_the_same_404_as_a_missing_one(client):
    lender, _admin, _reviewer = lender_with_staff()
    LoanProductFactory(lender=lender, code="rival-1")

    rival = client.get(LIST_URL + "rival-1/")
    missing = client.get(LIST_URL + "no-such-code/")

    assert (rival.status_code, rival.json()) == (404, {"detail": "Not found."})
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not found."})


@pytest.mark.parametrize("page_size", ["0", "-1", "0.5", "abc", "", "٣", "1e2"])
def test_an_invalid_page_size_is_a_400_naming_it(client, page_size):
    """Was silently replaced by the default page size (50), though the schema says
    an integer of at least 1."""
    response = client.get(LIST_URL, {"page_size": page_size})

    assert response.status_code == 400
    assert response.json() == {
        "page_size": [
            "Must be a whole number of at least 1 (a page holds at most 200 products)."
        ]
    }


def test_a_page_size_of_thousands_of_digits_is_capped_not_a_500(client):
    response = client.get(LIST_URL, {"page_size": "9" * 5000})

    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == ["kc-1"]


def test_an_error_in_a_list_item_is_a_flat_message_on_the_list(client):
    """Was ``{"required_categories": {"0": [...]}}``: an object where the documented
    400 body has a list of messages."""
    before = _state()

    response = client.post(
        LIST_URL,
        _terms(required_categories=["tax", False], regions=["440305", ""]),
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "regions": ["Item 1: This field may not be blank."],
        "required_categories": ["Item 1: Not a valid string."],
    }
    assert _state() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "{",
            "JSON parse error - Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (
            "\x87",
            "JSON parse error - 'utf-8' codec can't decode byte 0x87 in "
            "position 0: invalid start byte",
        ),
    ],
)
def test_a_body_that_is_not_json_is_a_400_with_the_field_errors_shape(
    client, body, message
):
    """Was ``{"detail": …}``, a shape the 400 of the schema does not have."""
    before = _state()

    response = client.post(
        LIST_URL, body.encode("latin-1"), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [message]}
    assert _state() == before


def test_a_body_that_is_not_an_object_is_a_non_field_error(client):
    before = _state()

    response = client.post(LIST_URL, "[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }
    assert _state() == before


NOT_A_STRING_NUMBER = "Send the number as a JSON string of digits, for example “3.45”."


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        # DRF took each of these, turning it into the documented type.
        ("name", 5, "Not a valid string."),
        (
            "code",
            12,
            'Enter a valid "slug" consisting of letters, numbers, '
            "underscores or hyphens.",
        ),
        ("term_min", "6", "A valid integer is required."),
        ("term_min", 6.0, "A valid integer is required."),
        ("term_min", True, "A valid integer is required."),
        ("pure_credit", "yes", "Must be a valid boolean."),
        ("pure_credit", 1, "Must be a valid boolean."),
        ("product_type", 1, '"1" is not a valid choice.'),
        ("amount_min", 100000, NOT_A_STRING_NUMBER),
        ("amount_min", 100000.5, NOT_A_STRING_NUMBER),
        ("amount_min", "1e5", "A valid number is required."),
        ("amount_min", " 100000", "A valid number is required."),
        ("amount_min", ".5", "A valid number is required."),
        ("amount_min", "NaN", "A valid number is required."),
        (
            "amount_min",
            "0000000000000100000.00",
            "Ensure that there are no more than 14 digits before the decimal point.",
        ),
        # The schema says what DRF refuses: "" for a field without allow_blank, and a
        # string longer than maxLength even when trimming would shorten it.
        ("name", "", "This field may not be blank."),
        (
            "name",
            " " + "贷" * 120,
            "Ensure this field has no more than 120 characters.",
        ),
        ("term_max", 2**31, "Ensure this value is less than or equal to 360."),
        ("term_max", 10**12, "Ensure this value is less than or equal to 360."),
    ],
)
def test_a_field_takes_only_its_documented_json_type(client, field, value, message):
    before = _state()

    created = client.post(LIST_URL, _terms(**{field: value}), format="json")
    changed = client.patch(LIST_URL + "kc-1/", {field: value}, format="json")

    assert created.status_code == 400
    assert created.json() == {field: [message]}
    if field == "code":
        # The code is read-only once the product exists: ignored, as documented.
        assert changed.status_code == 200
    else:
        assert changed.status_code == 400
        assert changed.json() == {field: [message]}
        assert _state() == before


@pytest.mark.parametrize("field", ["description", "min_grade", "min_tax_credit_grade"])
def test_a_field_documented_as_taking_blank_takes_it(client, field):
    response = client.post(LIST_URL, _terms(**{field: ""}), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()[field] == ""
    assert getattr(LoanProduct.objects.get(code="kc-new"), field) == ""


def test_the_put_body_has_no_code_and_a_sent_one_changes_nothing(client):
    response = client.put(LIST_URL + "kc-1/", _terms(code="renamed"), format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["code"] == "kc-1"
    assert list(LoanProduct.objects.values_list("code", flat=True)) == ["kc-1"]
