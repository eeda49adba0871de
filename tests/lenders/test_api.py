"""The bank API (``/api/v1/``): keys, scopes, isolation between banks, validation,
the product lifecycle, pagination, throttling, the schema and the docs page.

Every failure path also checks that nothing was written: the API must never leave a
half-created product or a changed one behind a 4xx.
"""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import drf_spectacular_sidecar
import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from accounts.models import Membership, Role
from lenders.apikeys import api_key_create, api_key_revoke
from lenders.models import (
    LoanProduct,
    LoanProductDistrict,
    LoanProductIndustry,
    ProductStatus,
    ProductTransition,
)
from tests.factories import UserFactory, activate_totp
from tests.factories.lenders import LoanProductFactory, lender_with_staff

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/products/"
ALL_SCOPES = ["products:read", "products:write"]


def detail_url(code: str, action: str | None = None) -> str:
    return f"{LIST_URL}{code}/" + (f"{action}/" if action else "")


def key_client(raw: str, header: str = "Authorization") -> APIClient:
    """A client that sends ``raw`` as its key, asking for English messages."""
    client = APIClient()
    if header == "Authorization":
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en"
        )
    else:
        client.credentials(HTTP_X_API_KEY=raw, HTTP_ACCEPT_LANGUAGE="en")
    return client


def payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "kcd-2026",
        "name": "科创快贷",
        "description": "纯信用，线上申请。",
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
        "regions": ["440305", "440304"],
        "industries": ["C", "I"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def bank():
    lender, admin, _reviewer = lender_with_staff()
    return lender, admin


@pytest.fixture
def raw_key(bank) -> str:
    lender, admin = bank
    _key, raw = api_key_create(
        lender=lender, name="core banking", scopes=ALL_SCOPES, created_by=admin
    )
    return raw


@pytest.fixture
def client(raw_key) -> APIClient:
    return key_client(raw_key)


@pytest.fixture
def other_product():
    """Another bank's draft product (that bank has its own admin and key)."""
    lender, _admin, _ = lender_with_staff()
    return LoanProductFactory(lender=lender, code="rival-1", name="他行产品")


def snapshot() -> tuple[int, int, int, int]:
    return (
        LoanProduct.objects.count(),
        LoanProductDistrict.objects.count(),
        LoanProductIndustry.objects.count(),
        ProductTransition.objects.count(),
    )


# --- Authentication and scopes ---------------------------------------------------------


def test_bearer_key_lists_only_own_products(bank, client, other_product):
    lender, _admin = bank
    mine = LoanProductFactory(lender=lender, code="mine-1", rate_min=Decimal("4.35"))
    LoanProductDistrict.objects.create(product=mine, district="440305")
    LoanProductIndustry.objects.create(product=mine, industry="C")

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == ["mine-1"]
    row = response.json()["results"][0]
    assert row["rate_min"] == "4.35"
    assert row["rate_max"] == "6.50"
    assert row["amount_min"] == "100000.00"
    assert row["regions"] == ["440305"]
    assert row["industries"] == ["C"]
    assert row["status"] == "draft"
    assert row["current_version"] == 0
    assert row["currency"] == "CNY"
    assert "lender" not in row


def test_x_api_key_header_is_accepted(bank, raw_key):
    lender, _admin = bank
    LoanProductFactory(lender=lender, code="mine-1")

    response = key_client(raw_key, header="X-Api-Key").get(LIST_URL)

    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == ["mine-1"]


def test_revoked_key_is_refused_with_401(bank, raw_key):
    lender, admin = bank
    key = lender.api_keys.get()
    api_key_revoke(key=key, actor=admin)

    response = key_client(raw_key).get(LIST_URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}
    assert response["WWW-Authenticate"] == 'Bearer realm="xinyidai"'


@pytest.mark.parametrize(
    "raw",
    [
        "not-a-key",
        "xyd_short_secret",
        "xyd_00000000_unknownprefixsecret",
        "xyd_",
    ],
)
def test_malformed_or_unknown_key_is_refused_with_401(bank, raw_key, raw):
    response = key_client(raw).get(LIST_URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}


def test_right_prefix_wrong_secret_is_refused_with_401(raw_key):
    prefix = raw_key.split("_")[1]

    response = key_client(f"xyd_{prefix}_{'x' * 43}").get(LIST_URL)

    assert response.status_code == 401


def test_bearer_header_with_extra_parts_is_refused(raw_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key} extra")

    assert client.get(LIST_URL).status_code == 401


def test_no_credentials_is_401_with_challenge():
    response = APIClient().get(LIST_URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="xinyidai"'


def test_read_only_key_cannot_create_and_is_told_the_scope(bank):
    lender, admin = bank
    _key, raw = api_key_create(
        lender=lender, name="reports", scopes=["products:read"], created_by=admin
    )
    before = snapshot()

    response = key_client(raw).post(LIST_URL, payload(), format="json")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "This API key lacks the scope “products:write”."
    }
    assert snapshot() == before


def test_key_without_read_scope_cannot_list(bank):
    lender, admin = bank
    _key, raw = api_key_create(
        lender=lender, name="apps", scopes=["applications:read"], created_by=admin
    )

    response = key_client(raw).get(LIST_URL)

    assert response.status_code == 403
    assert "products:read" in response.json()["detail"]


def test_key_of_a_demoted_admin_cannot_write(bank, client):
    """The key's creator is the actor: once no longer an administrator, the
    services refuse (403), whatever scopes the key holds."""
    lender, admin = bank
    Membership.objects.filter(user=admin, organization=lender.organization).update(
        role=Role.REVIEWER
    )
    before = snapshot()

    response = client.post(LIST_URL, payload(), format="json")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only the bank's administrators manage its products."
    }
    assert snapshot() == before


def test_key_of_an_inactive_creator_is_refused(bank, client):
    _lender, admin = bank
    admin.is_active = False
    admin.save(update_fields=["is_active"])

    assert client.get(LIST_URL).status_code == 401


# --- Isolation between banks -----------------------------------------------------------


def test_other_banks_product_is_404_everywhere(client, other_product):
    before = snapshot()

    assert client.get(detail_url("rival-1")).status_code == 404
    assert (
        client.patch(
            detail_url("rival-1"), {"name": "hijacked"}, format="json"
        ).status_code
        == 404
    )
    assert (
        client.put(
            detail_url("rival-1"), payload(code="rival-1"), format="json"
        ).status_code
        == 404
    )
    assert client.post(detail_url("rival-1", "submit")).status_code == 404
    assert client.post(detail_url("rival-1", "delist")).status_code == 404

    other_product.refresh_from_db()
    assert other_product.name == "他行产品"
    assert other_product.status == ProductStatus.DRAFT
    assert snapshot() == before


def test_same_code_at_another_bank_does_not_leak(bank, client, other_product):
    lender, _admin = bank
    LoanProductFactory(lender=lender, code="rival-1", name="本行产品")

    response = client.get(detail_url("rival-1"))

    assert response.status_code == 200
    assert response.json()["name"] == "本行产品"


# --- Create and validation -------------------------------------------------------------


def test_create_makes_a_draft_with_regions_and_industries(bank, client):
    lender, _admin = bank

    response = client.post(LIST_URL, payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["code"] == "kcd-2026"
    assert body["status"] == "draft"
    assert body["regions"] == ["440304", "440305"]
    assert body["industries"] == ["C", "I"]
    assert body["rate_min"] == "3.45"
    product = LoanProduct.objects.get(lender=lender, code="kcd-2026")
    assert product.amount_max == Decimal("3000000.00")
    assert sorted(product.districts.values_list("district", flat=True)) == [
        "440304",
        "440305",
    ]
    assert product.status == ProductStatus.DRAFT


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"amount_min": "5000000.00", "amount_max": "100000.00"},
            "amount_max",
            "The maximum must not be below the minimum.",
        ),
        (
            {"term_min": 36, "term_max": 6},
            "term_max",
            "The maximum must not be below the minimum.",
        ),
        (
            {"rate_min": "8.00", "rate_max": "4.00"},
            "rate_max",
            "The maximum must not be below the minimum.",
        ),
        ({"amount_min": "-1.00"}, "amount_min", "Must be greater than zero."),
        ({"rate_max": "24.01"}, "rate_max", "Above the legal cap of 24.00% a year."),
        (
            {"rate_min": "24.01", "rate_max": "24.01"},
            "rate_min",
            "Above the legal cap of 24.00% a year.",
        ),
        ({"regions": ["999999"]}, "regions", "Unknown district codes: 999999."),
        ({"industries": ["Z"]}, "industries", "Unknown industry codes: Z."),
        (
            {"name": "贷" * 121},
            "name",
            "Ensure this field has no more than 120 characters.",
        ),
        (
            {"description": "x" * 4001},
            "description",
            "Ensure this field has no more than 4000 characters.",
        ),
        (
            {"rate_min": "3.455"},
            "rate_min",
            "Ensure that there are no more than 2 decimal places.",
        ),
        ({"product_type": "payday"}, "product_type", '"payday" is not a valid choice.'),
    ],
)
def test_invalid_create_is_a_field_error_and_saves_nothing(
    client, overrides, field, message
):
    before = snapshot()

    response = client.post(LIST_URL, payload(**overrides), format="json")

    assert response.status_code == 400
    assert message in response.json()[field]
    assert snapshot() == before


def test_missing_required_fields_are_listed(client):
    response = client.post(LIST_URL, {"code": "x"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) >= {
        "name",
        "product_type",
        "amount_min",
        "amount_max",
        "rate_min",
        "rate_max",
        "response_days",
    }
    assert LoanProduct.objects.count() == 0


def test_duplicate_code_is_a_field_error(bank, client):
    lender, _admin = bank
    LoanProductFactory(lender=lender, code="kcd-2026")
    before = snapshot()

    response = client.post(LIST_URL, payload(), format="json")

    assert response.status_code == 400
    assert response.json() == {"code": ["You already have a product with this code."]}
    assert snapshot() == before


# --- Update ----------------------------------------------------------------------------


def test_patch_changes_terms_and_keeps_code_and_places(bank, client):
    lender, _admin = bank
    client.post(LIST_URL, payload(), format="json")

    response = client.patch(
        detail_url("kcd-2026"),
        {"name": "科创快贷二期", "rate_max": "7.25", "code": "renamed"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "科创快贷二期"
    assert response.json()["rate_max"] == "7.25"
    assert response.json()["code"] == "kcd-2026"
    assert response.json()["regions"] == ["440304", "440305"]
    product = LoanProduct.objects.get(lender=lender)
    assert (product.code, product.rate_max) == ("kcd-2026", Decimal("7.25"))


def test_invalid_patch_changes_nothing(bank, client):
    lender, _admin = bank
    product = LoanProductFactory(lender=lender, code="mine-1")
    LoanProductDistrict.objects.create(product=product, district="440305")
    before = snapshot()

    response = client.patch(
        detail_url("mine-1"),
        {"name": "改名", "rate_max": "24.01", "regions": ["440303"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"rate_max": ["Above the legal cap of 24.00% a year."]}
    product.refresh_from_db()
    assert product.name != "改名"
    assert product.rate_max == Decimal("6.50")
    assert list(product.districts.values_list("district", flat=True)) == ["440305"]
    assert snapshot() == before


def test_patch_with_unknown_region_changes_nothing(bank, client):
    lender, _admin = bank
    product = LoanProductFactory(lender=lender, code="mine-1", name="原名")
    before = snapshot()

    response = client.patch(
        detail_url("mine-1"), {"name": "改名", "regions": ["999999"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"regions": ["Unknown district codes: 999999."]}
    product.refresh_from_db()
    assert product.name == "原名"
    assert snapshot() == before


def test_form_encoded_body_is_refused(client):
    response = client.post(LIST_URL, {"code": "form", "name": "表单"})

    assert response.status_code == 415
    assert LoanProduct.objects.count() == 0


def test_delete_is_not_allowed(bank, client):
    lender, _admin = bank
    LoanProductFactory(lender=lender, code="mine-1")

    response = client.delete(detail_url("mine-1"))

    assert response.status_code == 405
    assert LoanProduct.objects.filter(code="mine-1").exists()


# --- Lifecycle -------------------------------------------------------------------------


def test_lifecycle_submit_withdraw_and_conflicts(bank, client):
    lender, _admin = bank
    assert client.post(LIST_URL, payload(), format="json").status_code == 201

    submitted = client.post(detail_url("kcd-2026", "submit"))
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "pending_review"
    product = LoanProduct.objects.get(lender=lender, code="kcd-2026")
    assert product.status == ProductStatus.PENDING_REVIEW
    assert product.submitted_at is not None
    transitions = ProductTransition.objects.count()

    again = client.post(detail_url("kcd-2026", "submit"))
    assert again.status_code == 409
    assert list(again.json()) == ["detail"]
    assert again.json()["detail"] == (
        "“Submit for review” is not possible for a product that is “Pending review”."
    )

    edit = client.patch(detail_url("kcd-2026"), {"name": "审核中改名"}, format="json")
    assert edit.status_code == 409
    assert edit.json() == {
        "detail": "A product under review cannot be edited; withdraw it first."
    }

    delist = client.post(detail_url("kcd-2026", "delist"))
    assert delist.status_code == 409

    product.refresh_from_db()
    assert product.status == ProductStatus.PENDING_REVIEW
    assert product.name == "科创快贷"
    assert ProductTransition.objects.count() == transitions

    withdrawn = client.post(detail_url("kcd-2026", "withdraw"))
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "draft"


def test_delisting_a_draft_is_a_conflict(bank, client):
    lender, _admin = bank
    product = LoanProductFactory(lender=lender, code="mine-1")

    response = client.post(detail_url("mine-1", "delist"))

    assert response.status_code == 409
    assert list(response.json()) == ["detail"]
    product.refresh_from_db()
    assert product.status == ProductStatus.DRAFT
    assert ProductTransition.objects.count() == 0


def test_delisting_a_listed_product(bank, client):
    lender, _admin = bank
    LoanProductFactory(
        lender=lender,
        code="mine-1",
        status=ProductStatus.LISTED,
        listed_at=timezone.now(),
    )

    response = client.post(detail_url("mine-1", "delist"))

    assert response.status_code == 200
    assert response.json()["status"] == "delisted"


def test_transitions_need_the_write_scope(bank):
    lender, admin = bank
    LoanProductFactory(lender=lender, code="mine-1")
    _key, raw = api_key_create(
        lender=lender, name="reports", scopes=["products:read"], created_by=admin
    )

    response = key_client(raw).post(detail_url("mine-1", "submit"))

    assert response.status_code == 403
    assert "products:write" in response.json()["detail"]
    assert LoanProduct.objects.get(code="mine-1").status == ProductStatus.DRAFT


# --- Sessions --------------------------------------------------------------------------


def test_session_of_a_lender_admin_uses_the_api(bank, other_product):
    lender, admin = bank
    activate_totp(admin)
    LoanProductFactory(lender=lender, code="mine-1")
    client = APIClient()
    client.force_login(admin)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == ["mine-1"]


def test_session_of_a_non_bank_user_is_refused():
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory())

    response = client.get(LIST_URL)

    assert response.status_code == 403
    assert response.json() == {"detail": "Only a bank's staff may use the bank API."}


# --- Pagination and throttling ---------------------------------------------------------


def test_cursor_pagination_pages_through_sixty_products(bank, client):
    lender, _admin = bank
    LoanProductFactory.create_batch(60, lender=lender)

    first = client.get(LIST_URL)
    assert first.status_code == 200
    assert len(first.json()["results"]) == 50
    assert first.json()["next"]
    assert first.json()["previous"] is None

    second = client.get(first.json()["next"])
    assert second.status_code == 200
    assert len(second.json()["results"]) == 10
    assert second.json()["next"] is None

    codes = [row["code"] for row in first.json()["results"] + second.json()["results"]]
    assert sorted(codes) == sorted(
        LoanProduct.objects.filter(lender=lender).values_list("code", flat=True)
    )


def test_page_size_is_capped(bank, client):
    lender, _admin = bank
    LoanProductFactory.create_batch(3, lender=lender)

    assert len(client.get(LIST_URL, {"page_size": 2}).json()["results"]) == 2
    assert len(client.get(LIST_URL, {"page_size": 500}).json()["results"]) == 3


def test_throttle_per_key(bank, client, settings):
    settings.BANK_API_RATE = "3/min"
    lender, admin = bank

    statuses = [client.get(LIST_URL).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    # Another key of the same bank has its own budget.
    _key, raw = api_key_create(
        lender=lender, name="second", scopes=["products:read"], created_by=admin
    )
    assert key_client(raw).get(LIST_URL).status_code == 200


def test_default_rate_is_120_a_minute():
    from lenders.api import ApiKeyRateThrottle

    throttle = ApiKeyRateThrottle()

    assert throttle.rate == "120/min"
    assert (throttle.num_requests, throttle.duration) == (120, 60)


# --- Schema and docs -------------------------------------------------------------------


def test_schema_refuses_anonymous_with_401():
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").get(
        "/api/schema/", {"format": "json"}
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="xinyidai"'
    assert response.json() == {
        "detail": "Authentication credentials were not provided."
    }


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
def test_integrators_fetch_the_schema_with_their_api_key(raw_key, header):
    response = key_client(raw_key, header=header).get(
        "/api/schema/", {"format": "json"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    schema = json.loads(response.content)
    validate_schema(schema)
    assert "/api/v1/products/" in schema["paths"]


def test_schema_refuses_a_revoked_key_with_401(bank, raw_key):
    lender, admin = bank
    api_key_revoke(key=lender.api_keys.get(), actor=admin)

    response = key_client(raw_key).get("/api/schema/", {"format": "json"})

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}


def test_schema_is_in_the_clients_language_whatever_was_served_before(raw_key):
    """Labels are frozen into a serializer instance when its fields are built, so a
    serializer instance kept in a view's schema declaration served every later
    schema in the language of the first one."""

    def name_title(language):
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_ACCEPT_LANGUAGE=language
        )
        response = client.get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        assert response["Content-Language"] == language
        product = json.loads(response.content)["components"]["schemas"]["Product"]
        return product["properties"]["name"].get("title")

    assert name_title("en") is None  # "Name" is the field's own name: no title
    assert name_title("zh-hans") == "名称"
    assert name_title("en") is None


def test_served_schema_documents_every_error_body(raw_key):
    response = key_client(raw_key).get("/api/schema/", {"format": "json"})
    schema = json.loads(response.content)
    paths, components = schema["paths"], schema["components"]["schemas"]

    def refs(operation):
        return {
            code: answer["content"]["application/json"]["schema"]["$ref"].rsplit(
                "/", 1
            )[-1]
            for code, answer in operation["responses"].items()
        }

    detail = "Error"
    assert refs(paths["/api/v1/products/"]["get"]) == {
        "200": "PaginatedProductList",
        "400": "ProductsListValidationError",
        "401": detail,
        "403": detail,
        "404": detail,
        "406": detail,
        "429": detail,
    }
    assert refs(paths["/api/v1/products/"]["post"]) == {
        "201": "Product",
        "400": "ProductsCreateValidationError",
        "401": detail,
        "403": detail,
        "406": detail,
        "415": detail,
        "429": detail,
    }
    assert refs(paths["/api/v1/products/{code}/"]["patch"]) == {
        "200": "Product",
        "202": "ProductRevision",
        "400": "ProductsPartialUpdateValidationError",
        "401": detail,
        "403": detail,
        "404": detail,
        "406": detail,
        "409": detail,
        "415": detail,
        "429": detail,
    }
    assert refs(paths["/api/v1/products/{code}/submit/"]["post"]) == {
        "200": "Product",
        "401": detail,
        "403": detail,
        "404": detail,
        "406": detail,
        "409": detail,
        "429": detail,
    }
    assert components["Error"]["properties"] == {"detail": {"type": "string"}}
    assert components["Error"]["required"] == ["detail"]
    listing = components["ProductsListValidationError"]
    assert set(listing["properties"]) == {"page_size", "non_field_errors"}
    assert listing["additionalProperties"] is False
    create = components["ProductsCreateValidationError"]
    assert create["additionalProperties"] is False
    assert create["properties"]["regions"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "Why `regions` was refused.",
    }
    assert "status" not in create["properties"]
    assert "code" not in components["ProductsUpdateValidationError"]["properties"]


def test_served_schema_marks_which_fields_take_blank(raw_key):
    response = key_client(raw_key).get("/api/schema/", {"format": "json"})
    components = json.loads(response.content)["components"]["schemas"]
    request = components["ProductRequest"]["properties"]

    assert request["name"]["minLength"] == 1
    assert request["code"]["minLength"] == 1
    assert "minLength" not in request["description"]
    assert request["description"]["description"] == 'May be empty ("").'
    assert {"$ref": "#/components/schemas/BlankEnum"} in request["min_grade"]["oneOf"]
    assert request["amount_min"]["pattern"] == r"^-?\d{1,14}(?:\.\d{1,2})?$"
    assert request["min_years_in_business"]["pattern"] == r"^-?\d{1,3}(?:\.\d{1,1})?$"
    assert (request["term_max"]["minimum"], request["term_max"]["maximum"]) == (1, 360)
    assert request["response_days"]["maximum"] == 60
    assert "code" not in components["ProductUpdateRequest"]["properties"]
    assert "status" not in request
    page_size = next(
        parameter
        for parameter in json.loads(response.content)["paths"]["/api/v1/products/"][
            "get"
        ]["parameters"]
        if parameter["name"] == "page_size"
    )
    assert page_size["schema"] == {"type": "integer", "minimum": 1}


def test_served_schema_is_valid_openapi_with_products_and_bearer():
    client = APIClient()
    client.force_login(UserFactory())

    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    paths = schema["paths"]
    assert "/api/v1/products/" in paths
    assert "/api/v1/products/{code}/submit/" in paths
    assert "/api/v1/products/{code}/withdraw/" in paths
    assert "/api/v1/products/{code}/delist/" in paths
    assert "delete" not in paths["/api/v1/products/{code}/"]
    assert not any(path.startswith("/api/v1/docs") for path in paths)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bankApiKey"]["type"] == "http"
    assert schemes["bankApiKey"]["scheme"] == "bearer"
    assert schemes["bankApiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": schemes["bankApiKeyHeader"]["description"],
    }
    create = paths["/api/v1/products/"]["post"]
    assert create["operationId"] == "products_create"
    assert create["tags"] == ["products"]
    assert {"bankApiKey": []} in create["security"]
    assert "201" in create["responses"]
    assert paths["/api/v1/products/"]["get"]["operationId"] == "products_list"
    submit = paths["/api/v1/products/{code}/submit/"]["post"]
    assert submit["operationId"] == "products_submit"
    assert "409" in submit["responses"]
    assert "requestBody" not in submit
    product = schema["components"]["schemas"]["Product"]
    assert product["properties"]["rate_min"]["type"] == "string"
    assert product["properties"]["regions"]["type"] == "array"
    assert product["properties"]["status"]["readOnly"] is True


def test_generated_schema_is_valid():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    validate_schema(schema)
    assert "/api/v1/products/{code}/" in schema["paths"]


def test_docs_page_redirects_anonymous_to_login():
    response = APIClient().get("/api/v1/docs/")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=/api/v1/docs/"


#: 16 bytes whose base64 form (the CSP nonce) spells every marker a careless check
#: would look for; one random nonce in about a thousand holds "cdn" by chance.
NONCE_SPELLING_CDN = base64.b64decode("cdnjsdelivrunpkgCDNAAA==")


@pytest.mark.parametrize("nonce", ["random", "spells_cdn"])
@pytest.mark.parametrize("who", ["verified_user", "lender_admin_with_totp"])
def test_docs_page_is_self_hosted(bank, who, nonce, monkeypatch):
    if nonce == "spells_cdn":
        monkeypatch.setattr(
            "csp.middleware.os.urandom", lambda size: NONCE_SPELLING_CDN[:size]
        )
    _lender, admin = bank
    if who == "lender_admin_with_totp":
        activate_totp(admin)
        user = admin
    else:
        user = UserFactory()
    client = APIClient()
    client.force_login(user)

    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    # Only the page's asset URLs are checked: the page also holds a random CSP nonce,
    # which can spell any short marker.
    assets = re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"', html)
    assert assets, "the page loads no scripts or stylesheets"
    for url in assets:
        assert url.startswith("/static/"), url
    assert "validator.swagger.io" not in html
    assert '"validatorUrl": null' in html
    dist = Path(drf_spectacular_sidecar.__file__).parent / "static"
    for asset in (
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
    ):
        relative = f"drf_spectacular_sidecar/swagger-ui-dist/{asset}"
        assert f"/static/{relative}" in html
        assert (dist / relative).is_file()
    assert "/api/schema/" in html


@pytest.mark.xfail(
    "drf_spectacular_sidecar" not in django_settings.INSTALLED_APPS,
    reason="settings must add drf_spectacular_sidecar to INSTALLED_APPS",
    strict=True,
)
def test_docs_assets_are_collected_as_static_files():
    """Without the app installed, collectstatic skips the assets and the manifest
    storage of production fails on the docs page."""
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}")
