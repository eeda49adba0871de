"""English names: organizations (the platform, banks, the office) and loan products
have optional English names (and products an English description), shown on /en/
pages with the Chinese as the fallback."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from accounts import seed as accounts_seed
from accounts.models import Organization, OrganizationKind, Role
from accounts.selectors import platform_organization
from lenders import seed as lenders_seed
from lenders.apikeys import api_key_create
from lenders.models import Lender, LoanProduct
from tests.factories import MembershipFactory, activate_totp
from tests.factories.lenders import PRODUCT_FORM, lender_with_staff, listed_product

pytestmark = pytest.mark.django_db


def _text(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]*)<', page)
    assert match is not None, testid
    return match.group(1)


@pytest.fixture
def product() -> LoanProduct:
    lender, _admin, _reviewer = lender_with_staff()
    organization = lender.organization
    organization.name_en = "Shenzhen Demo Bank"
    organization.save()
    return listed_product(
        lender=lender,
        name="科创贷",
        name_en="Tech Loan",
        description="面向科技型中小企业。",
        description_en="For technology SMEs.",
    )


def test_the_english_product_page_shows_the_english_names(client, product):
    page = client.get(f"/en/products/{product.pk}/").content.decode()

    assert _text(page, "product-name") == "Tech Loan"
    assert _text(page, "lender-name") == "Shenzhen Demo Bank · Credit loan"
    assert "<p>For technology SMEs.</p>" in page
    assert "<title>Tech Loan · Shenzhen Demo Bank" in page


def test_the_chinese_product_page_shows_the_chinese_names(client, product):
    page = client.get(f"/products/{product.pk}/").content.decode()

    assert _text(page, "product-name") == "科创贷"
    assert _text(page, "lender-name") == f"{product.lender.name} · 信用贷款"
    assert "<p>面向科技型中小企业。</p>" in page
    assert "Tech Loan" not in page and "Shenzhen Demo Bank" not in page


def test_without_english_names_the_english_page_falls_back_to_chinese(client):
    product = listed_product(name="科创贷", description="面向科技型中小企业。")

    page = client.get(f"/en/products/{product.pk}/").content.decode()

    assert _text(page, "product-name") == "科创贷"
    assert _text(page, "lender-name") == f"{product.lender.name} · Credit loan"
    assert "<p>面向科技型中小企业。</p>" in page


def test_the_english_list_shows_english_names_and_the_bank_filter_too(client, product):
    other = listed_product(name="普惠贷")

    page = client.get("/en/products/").content.decode()

    assert f'<a href="/en/products/{product.pk}/">Tech Loan</a>' in page
    assert f'<a href="/en/products/{other.pk}/">普惠贷</a>' in page
    assert "Shenzhen Demo Bank · Credit loan" in page
    assert f'<option value="{product.lender.pk}">Shenzhen Demo Bank</option>' in page
    assert (
        f'<option value="{other.lender.pk}">{other.lender.short_name}</option>' in page
    )
    chinese = client.get("/products/").content.decode()
    assert f'<a href="/products/{product.pk}/">科创贷</a>' in chinese
    assert (
        f'<option value="{product.lender.pk}">{product.lender.short_name}</option>'
        in chinese
    )


def test_the_display_names_follow_the_active_language(product):
    lender = Lender.objects.select_related("organization").get(pk=product.lender_id)
    with translation.override("en"):
        assert (product.display_name, lender.display_name) == (
            "Tech Loan",
            "Shenzhen Demo Bank",
        )
        assert lender.organization.display_name == "Shenzhen Demo Bank"
    with translation.override("zh-hans"):
        assert (product.display_name, lender.display_name) == ("科创贷", lender.name)
        assert lender.organization.display_name == lender.organization.name


# --- where the English names are entered ----------------------------------------------


@pytest.fixture
def operator_client(client):
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    return client


def test_the_operator_gives_a_new_organization_an_english_name(operator_client):
    response = operator_client.post(
        "/en/portal/operator/",
        {
            "kind": OrganizationKind.PROMOTION_OFFICE,
            "name": "深圳市信用促进办",
            "name_en": "  Shenzhen Credit Office  ",
            "admin_email": "head@office.example",
        },
    )

    assert response.status_code == 302
    organization = Organization.objects.get(name="深圳市信用促进办")
    assert organization.name_en == "Shenzhen Credit Office"


def test_an_english_name_too_long_is_a_field_error_and_creates_nothing(
    operator_client,
):
    before = Organization.objects.count()

    response = operator_client.post(
        "/en/portal/operator/",
        {
            "kind": OrganizationKind.PROMOTION_OFFICE,
            "name": "深圳市信用促进办",
            "name_en": "x" * 201,
            "admin_email": "head@office.example",
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["name_en"] == [
        "Ensure this value has at most 200 characters (it has 201)."
    ]
    assert Organization.objects.count() == before


def test_the_operator_onboards_a_bank_with_its_english_name(operator_client):
    response = operator_client.post(
        "/en/portal/operator/banks/new/",
        {
            "name": "深圳农商示范银行",
            "name_en": "Shenzhen Rural Commercial Demo Bank",
            "short_name": "农商示范",
            "admin_email": "boss@bank.example",
        },
    )

    assert response.status_code == 302
    lender = Lender.objects.get(short_name="农商示范")
    assert lender.organization.name_en == "Shenzhen Rural Commercial Demo Bank"


def test_the_bank_form_takes_the_english_name_and_description(client):
    lender, admin, _reviewer = lender_with_staff()
    activate_totp(admin)
    client.force_login(admin)

    response = client.post(
        "/en/portal/bank/products/new/",
        {
            **{
                key: value
                for key, value in PRODUCT_FORM.items()
                if key not in ("regions", "industries")
            },
            "name_en": "Tech Loan",
            "description_en": "For technology SMEs.",
        },
    )

    assert response.status_code == 302
    product = LoanProduct.objects.get(lender=lender, code="kc-9")
    assert (product.name_en, product.description_en) == (
        "Tech Loan",
        "For technology SMEs.",
    )


def test_the_bank_api_takes_and_returns_the_english_name_and_description():
    lender, admin, _reviewer = lender_with_staff()
    _key, raw = api_key_create(
        lender=lender,
        name="core banking",
        scopes=["products:read", "products:write"],
        created_by=admin,
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")

    response = api.post(
        "/api/v1/products/",
        {
            "code": "kc-new",
            "name": "科创快贷",
            "name_en": "Tech Quick Loan",
            "description_en": "Unsecured; apply online.",
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
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["name_en"], response.json()["description_en"]) == (
        "Tech Quick Loan",
        "Unsecured; apply online.",
    )
    too_long = api.patch(
        "/api/v1/products/kc-new/", {"name_en": "x" * 121}, format="json"
    )
    assert too_long.status_code == 400
    assert too_long.json() == {
        "name_en": ["Ensure this field has no more than 120 characters."]
    }
    assert LoanProduct.objects.get(code="kc-new").name_en == "Tech Quick Loan"


def test_the_demo_seed_gives_the_platform_office_and_bank_english_names():
    accounts_seed.seed()
    lenders_seed.seed()

    names = dict(
        Organization.objects.exclude(kind=OrganizationKind.ENTERPRISE).values_list(
            "kind", "name_en"
        )
    )
    assert names == {
        OrganizationKind.PLATFORM: "Xinyidai Platform Operations Centre",
        OrganizationKind.PROMOTION_OFFICE: (
            "Shenzhen Social Credit System Promotion Office"
        ),
        OrganizationKind.LENDER: "Shenzhen Demonstration Commercial Bank",
    }
    assert sorted(LoanProduct.objects.values_list("name_en", flat=True)) == [
        "Bank-Tax e-Loan",
        "IP Pledge Loan",
        "Tech Innovation Credit Loan",
    ]
