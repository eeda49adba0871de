"""Upper bounds on every number of a loan product: in the database, the form and the
bank API, each refusal a field error that changes nothing.

Terms are at most 360 months, the promised response at most 60 working days, years
in business at most 50, amounts at most ``LOAN_PRODUCT_AMOUNT_MAX`` (a setting, under
the database's hard ceiling ``AMOUNT_CEILING``) and rates at most ``LOAN_RATE_CAP``
(under the 36 % ceiling).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from lenders.apikeys import api_key_create
from lenders.models import (
    AMOUNT_CEILING,
    LoanProduct,
    LoanProductDistrict,
    LoanProductRevision,
    ProductStatus,
)
from tests.factories import activate_totp
from tests.factories.lenders import (
    PRODUCT_FORM,
    LoanProductFactory,
    lender_with_staff,
)

pytestmark = pytest.mark.django_db

# The product form without industries (open to every industry).
FORM = {key: value for key, value in PRODUCT_FORM.items() if key != "industries"}
AT_MOST_360 = "Ensure this value is less than or equal to 360."
AT_MOST_60 = "Ensure this value is less than or equal to 60."


@pytest.fixture
def bank():
    lender, admin, _reviewer = lender_with_staff()
    activate_totp(admin)
    return lender, admin


@pytest.fixture
def portal(client, bank):
    client.force_login(bank[1])
    return client


@pytest.fixture
def api(bank) -> APIClient:
    lender, admin = bank
    _key, raw = api_key_create(
        lender=lender,
        name="core banking",
        scopes=["products:read", "products:write"],
        created_by=admin,
    )
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def state() -> list[tuple]:
    """Every product's numbers and places, and the revisions: what must not change."""
    return [
        *LoanProduct.objects.order_by("pk").values_list(
            "code",
            "amount_max",
            "term_min",
            "term_max",
            "rate_max",
            "response_days",
            "updated_at",
        ),
        LoanProductDistrict.objects.count(),
        LoanProductRevision.objects.count(),
    ]


BAD_VALUES = [
    ({"term_max": "9999"}, "term_max", AT_MOST_360),
    ({"term_max": "361"}, "term_max", AT_MOST_360),
    ({"term_min": "400", "term_max": "400"}, "term_max", AT_MOST_360),
    ({"term_max": str(10**12)}, "term_max", AT_MOST_360),
    ({"response_days": "61"}, "response_days", AT_MOST_60),
    (
        {"min_years_in_business": "51"},
        "min_years_in_business",
        "Ensure this value is less than or equal to 50.",
    ),
    (
        {"amount_max": "100000000.01"},
        "amount_max",
        "At most CNY 100,000,000.00.",
    ),
]


# --- the form -------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field", "message"), BAD_VALUES)
def test_the_form_refuses_a_value_over_its_bound_and_creates_nothing(
    portal, changes, field, message
):
    before = state()

    response = portal.post("/en/portal/bank/products/new/", {**FORM, **changes})

    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    assert state() == before


@pytest.mark.parametrize(("changes", "field", "message"), BAD_VALUES)
@pytest.mark.parametrize("status", [ProductStatus.DRAFT, ProductStatus.LISTED])
def test_editing_a_product_over_a_bound_is_a_field_error_and_changes_nothing(
    portal, bank, status, changes, field, message
):
    lender, _admin = bank
    product = LoanProductFactory(lender=lender, code="kc-9", status=status)
    before = state()

    response = portal.post(
        f"/en/portal/bank/products/{product.pk}/edit/", {**FORM, **changes}
    )

    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    assert state() == before


def test_the_amount_bound_is_the_setting(portal, settings):
    settings.LOAN_PRODUCT_AMOUNT_MAX = Decimal("1500000.00")
    before = state()

    response = portal.post("/en/portal/bank/products/new/", FORM)

    assert response.status_code == 400
    assert response.context["form"].errors["amount_max"] == [
        "At most CNY 1,500,000.00."
    ]
    assert state() == before
    settings.LOAN_PRODUCT_AMOUNT_MAX = Decimal("2000000.00")
    assert portal.post("/en/portal/bank/products/new/", FORM).status_code == 302


def test_a_setting_above_the_database_ceiling_is_capped_by_it(portal, settings):
    settings.LOAN_PRODUCT_AMOUNT_MAX = Decimal("99999999999999.99")
    before = state()

    response = portal.post(
        "/en/portal/bank/products/new/",
        {**FORM, "amount_max": str(AMOUNT_CEILING + Decimal("0.01"))},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["amount_max"] == [
        "At most CNY 10,000,000,000.00."
    ]
    assert state() == before


def test_a_rate_cap_setting_above_36_percent_is_capped_at_36(portal, settings):
    settings.LOAN_RATE_CAP = Decimal("48.00")

    response = portal.post(
        "/en/portal/bank/products/new/", {**FORM, "rate_max": "36.01"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["rate_max"] == [
        "Above the legal cap of 36.00% a year."
    ]
    assert LoanProduct.objects.count() == 0


def test_the_highest_values_allowed_are_accepted(portal):
    response = portal.post(
        "/en/portal/bank/products/new/",
        {
            **FORM,
            "term_max": "360",
            "response_days": "60",
            "amount_max": "100000000.00",
            "min_years_in_business": "50",
        },
    )

    assert response.status_code == 302
    product = LoanProduct.objects.get(code="kc-9")
    assert (product.term_max, product.response_days, product.amount_max) == (
        360,
        60,
        Decimal("100000000.00"),
    )


# --- the bank API ---------------------------------------------------------------------


def _terms(**overrides):
    data = {
        "code": "kc-new",
        "name": "科创快贷",
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


API_BAD_VALUES = [
    ({"term_max": 9999}, "term_max", AT_MOST_360),
    ({"term_max": 10**12}, "term_max", AT_MOST_360),
    ({"term_min": 10**12}, "term_min", AT_MOST_360),
    ({"term_max": 10**30}, "term_max", AT_MOST_360),
    ({"response_days": 61}, "response_days", AT_MOST_60),
    ({"amount_max": "100000000.01"}, "amount_max", "At most CNY 100,000,000.00."),
    (
        {"amount_max": "99999999999999.99"},
        "amount_max",
        "At most CNY 100,000,000.00.",
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), API_BAD_VALUES)
def test_the_api_refuses_a_value_over_its_bound_with_a_400_naming_the_field(
    api, bank, changes, field, message
):
    lender, _admin = bank
    LoanProductFactory(lender=lender, code="kc-draft")
    LoanProductFactory(lender=lender, code="kc-listed", status=ProductStatus.LISTED)
    before = state()

    created = api.post("/api/v1/products/", _terms(**changes), format="json")
    patched = [
        api.patch(f"/api/v1/products/{code}/", changes, format="json")
        for code in ("kc-draft", "kc-listed")
    ]

    for response in (created, *patched):
        assert response.status_code == 400
        assert response.json() == {field: [message]}
    assert state() == before


def test_an_integer_too_long_for_json_is_a_400_not_a_500(api, bank):
    lender, _admin = bank
    LoanProductFactory(lender=lender, code="kc-draft")
    before = state()
    body = json.dumps(_terms()).replace('"term_max": 36', '"term_max": 1' + "0" * 5000)

    response = api.post("/api/v1/products/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert response.json()["non_field_errors"][0].startswith("JSON parse error")
    assert state() == before


# --- the database ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"term_max": 361},
        {"term_max": 9999},
        {"response_days": 61},
        {"amount_max": AMOUNT_CEILING + Decimal("0.01")},
        {"rate_max": Decimal("36.01")},
        {"min_years_in_business": Decimal("50.1")},
        {"min_years_in_business": Decimal("-0.5")},
    ],
)
def test_upper_bounds_are_database_constraints(changes):
    product = LoanProductFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        LoanProduct.objects.filter(pk=product.pk).update(**changes)

    product.refresh_from_db()
    assert (product.term_max, product.response_days, product.rate_max) == (
        36,
        5,
        Decimal("6.50"),
    )


def test_the_bounds_themselves_pass_the_database():
    product = LoanProductFactory()

    LoanProduct.objects.filter(pk=product.pk).update(
        term_max=360,
        response_days=60,
        amount_max=AMOUNT_CEILING,
        rate_max=Decimal("36.00"),
        min_years_in_business=Decimal("50"),
    )

    product.refresh_from_db()
    assert (product.term_max, product.response_days, product.amount_max) == (
        360,
        60,
        AMOUNT_CEILING,
    )
