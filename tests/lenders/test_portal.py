"""The bank portal and the operator's bank pages."""

from __future__ import annotations

import pytest

from accounts.models import Invitation, Organization, Role
from accounts.selectors import platform_organization
from lenders.models import ApiKey, Lender, LoanProduct, ProductStatus, WebhookEndpoint
from tests.factories import MembershipFactory, activate_totp
from tests.factories.lenders import (
    PRODUCT_FORM,
    LoanProductFactory,
    lender_with_staff,
)

pytestmark = pytest.mark.django_db

FORM = PRODUCT_FORM


@pytest.fixture
def bank_admin(client):
    lender, admin, reviewer = lender_with_staff()
    activate_totp(admin)
    activate_totp(reviewer)
    client.force_login(admin)
    return lender, admin, reviewer


def test_admin_creates_a_product_through_the_form(client, bank_admin):
    lender, _admin, _ = bank_admin
    response = client.post("/en/portal/bank/products/new/", FORM)
    assert response.status_code == 302
    product = LoanProduct.objects.get(lender=lender)
    assert (product.code, product.status, product.rate_max) == (
        "kc-9",
        ProductStatus.DRAFT,
        5.5,
    )
    assert list(product.districts.values_list("district", flat=True)) == ["440305"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"amount_max": "50000"},
            "amount_max",
            "The maximum must not be below the minimum.",
        ),
        ({"rate_max": "30"}, "rate_max", "Above the legal cap of 24.00% a year."),
        ({"amount_min": "-5"}, "amount_min", "Must be greater than zero."),
        (
            {"regions": ["999999"]},
            "regions",
            "Select a valid choice. 999999 is not one of the available choices.",
        ),
    ],
)
def test_form_reports_field_errors_and_saves_nothing(
    client, bank_admin, changes, field, message
):
    response = client.post("/en/portal/bank/products/new/", {**FORM, **changes})
    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    assert LoanProduct.objects.count() == 0


def test_reviewer_cannot_create_products(client, bank_admin):
    _lender, _admin, reviewer = bank_admin
    client.force_login(reviewer)
    assert client.post("/en/portal/bank/products/new/", FORM).status_code == 404
    assert LoanProduct.objects.count() == 0


def test_another_banks_product_is_404(client, bank_admin):
    other_lender, _other_admin, _ = lender_with_staff()
    product = LoanProductFactory(lender=other_lender)
    assert client.get(f"/portal/bank/products/{product.pk}/edit/").status_code == 404
    assert client.post(f"/portal/bank/products/{product.pk}/submit/").status_code == 404
    product.refresh_from_db()
    assert product.status == ProductStatus.DRAFT


def test_api_key_is_shown_once_and_stored_hashed(client, bank_admin):
    response = client.post(
        "/en/portal/bank/api-keys/",
        {"name": "core banking", "scopes": ["products:read"]},
    )
    raw = response.context["raw_key"]
    key = ApiKey.objects.get()
    assert raw.startswith(f"xyd_{key.prefix}_") and raw not in str(key.__dict__)
    assert raw not in client.get("/en/portal/bank/api-keys/").content.decode()
    client.post(f"/portal/bank/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_webhook_endpoint_must_be_https(client, bank_admin):
    lender, _admin, _ = bank_admin
    response = client.post(
        "/en/portal/bank/webhook/", {"url": "http://bank.example/hook"}
    )
    assert response.context["form"].errors["url"] == ["The endpoint must use HTTPS."]
    assert WebhookEndpoint.objects.count() == 0
    client.post("/en/portal/bank/webhook/", {"url": "https://bank.example/hook"})
    endpoint = WebhookEndpoint.objects.get(lender=lender)
    first_secret = endpoint.secret
    client.post(
        "/en/portal/bank/webhook/", {"url": "https://bank.example/hook2", "rotate": "1"}
    )
    endpoint.refresh_from_db()
    assert (
        endpoint.url == "https://bank.example/hook2" and endpoint.secret != first_secret
    )


@pytest.fixture
def operator_client(client):
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    return client


def test_operator_approves_and_returns_through_the_queue(operator_client):
    approve_me = LoanProductFactory(status=ProductStatus.PENDING_REVIEW)
    return_me = LoanProductFactory(status=ProductStatus.PENDING_REVIEW)
    page = operator_client.get("/en/portal/operator/products/review/").content.decode()
    assert approve_me.code in page and return_me.code in page
    operator_client.post(f"/portal/operator/products/{approve_me.pk}/approve/")
    operator_client.post(
        f"/portal/operator/products/{return_me.pk}/return/", {"comment": ""}
    )
    return_me.refresh_from_db()
    assert return_me.status == ProductStatus.PENDING_REVIEW  # a return needs a comment
    operator_client.post(
        f"/portal/operator/products/{return_me.pk}/return/",
        {"comment": "补充还款方式说明"},
    )
    approve_me.refresh_from_db()
    return_me.refresh_from_db()
    assert (approve_me.status, return_me.status, return_me.review_comment) == (
        ProductStatus.LISTED,
        ProductStatus.DRAFT,
        "补充还款方式说明",
    )


def test_operator_onboards_a_bank_and_invites_its_admin(operator_client):
    response = operator_client.post(
        "/en/portal/operator/banks/new/",
        {
            "name": "深圳农商示范银行",
            "short_name": "农商示范",
            "admin_email": "boss@bank.example",
        },
    )
    assert response.status_code == 302
    lender = Lender.objects.get(short_name="农商示范")
    assert lender.organization.kind == "lender"
    invitation = Invitation.objects.get(email="boss@bank.example")
    assert (invitation.organization, invitation.role) == (
        lender.organization,
        Role.ADMIN,
    )


def test_onboarding_twice_is_a_field_error(operator_client):
    data = {
        "name": "深圳农商示范银行",
        "short_name": "农商示范",
        "admin_email": "boss@bank.example",
    }
    operator_client.post("/en/portal/operator/banks/new/", data)
    response = operator_client.post("/en/portal/operator/banks/new/", data)
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert Lender.objects.count() == 1
    assert Organization.objects.filter(kind="lender").count() == 1


def test_admin_manages_branches_and_their_districts(client, bank_admin):
    lender, _admin, reviewer = bank_admin
    response = client.post(
        "/en/portal/bank/branches/new/",
        {"name": "南山支行", "districts": ["440305", "440311"]},
    )
    assert response.status_code == 302
    branch = lender.branches.get()
    assert branch.districts == ["440305", "440311"]
    bad = client.post(
        f"/en/portal/bank/branches/{branch.pk}/edit/",
        {"name": "南山支行", "districts": ["999999"]},
    )
    assert bad.status_code == 400
    assert bad.context["form"].errors["districts"] == [
        "Select a valid choice. 999999 is not one of the available choices."
    ]
    branch.refresh_from_db()
    assert branch.districts == ["440305", "440311"]
    client.force_login(reviewer)
    assert client.post(f"/portal/bank/branches/{branch.pk}/delete/").status_code == 302
    assert lender.branches.count() == 1  # a reviewer cannot delete it


def _row_actions(page: str, code: str) -> list[tuple[str, str, str]]:
    """(action, form target, button label) of each action button in a product's row."""
    import html
    import re

    row = re.search(rf'<tr data-product="{re.escape(code)}">(.*?)</tr>', page, re.S)
    assert row is not None, code
    return [
        (action, target, html.unescape(label))
        for target, action, label in re.findall(
            r'<form method="post" action="([^"]+)"[^>]*data-action="([^"]+)">'
            r".*?<button[^>]*>([^<]*)</button></form>",
            row.group(1),
            re.S,
        )
    ]


@pytest.mark.parametrize("status", ProductStatus.values)
def test_product_list_buttons_are_the_lifecycle_tables_for_each_role(
    client, bank_admin, status
):
    from lenders import lifecycle

    lender, admin, reviewer = bank_admin
    product = LoanProductFactory(lender=lender, status=status)
    for user, role in ((admin, lifecycle.LENDER_ADMIN), (reviewer, None)):
        client.force_login(user)
        page = client.get("/en/portal/bank/products/").content.decode()
        expected = [
            (
                action,
                f"/en/portal/bank/products/{product.pk}/{action}/",
                str(lifecycle.TRANSITIONS[action].label),
            )
            for action in lifecycle.allowed_actions(status, role)
        ]
        assert _row_actions(page, product.code) == expected, (status, role)
        edit = f"/en/portal/bank/products/{product.pk}/edit/"
        assert (edit in page) == (
            role == lifecycle.LENDER_ADMIN and status in lifecycle.EDITABLE
        )
    # Every lender action of the table is drawn in some status.
    assert {
        action
        for s in ProductStatus.values
        for action in lifecycle.allowed_actions(s, lifecycle.LENDER_ADMIN)
    } == {"submit", "withdraw", "delist"}
