"""The SME's pages: register, grant after reading the notice, revoke in one click."""

from __future__ import annotations

import pytest

from accounts.models import Membership, Organization, Role
from borrowers.models import CreditAuthorization, DataAccessLog, Enterprise
from creditdata.models import IngestionRun
from tests.factories import UserFactory
from tests.factories.borrowers import enterprise_with_owner, grant

pytestmark = pytest.mark.django_db

# The name and legal representative the sandbox registry holds for this code
# (creditdata.synthetic): registration must match them.
VALID = {
    "uscc": "9144 0300 7084 6113 6t",
    "name": "深圳市天宇宏业新材料有限公司",
    "legal_representative": "苏俊",
    "registered_capital": "5000000.00",
    "founded_on": "2015-06-01",
    "industry": "I",
    "district": "440305",
    "employees": "42",
}


def test_register_enterprise_makes_the_user_its_owner(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post("/en/portal/enterprise/register/", VALID)
    assert response.status_code == 302
    assert response["Location"] == "/en/portal/enterprise/verify/"
    enterprise = Enterprise.objects.get()
    assert enterprise.uscc == "91440300708461136T"
    assert enterprise.verification_status == "unverified"
    assert Membership.objects.get(user=user).role == Role.OWNER
    assert enterprise.organization.kind == "enterprise"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "uscc",
            "91440300708461136U",
            "The check character (character 18) is “U” but the first 17 characters require “T”: one of them, or the check character, is mistyped.",
        ),
        (
            "uscc",
            "9144030070846113",
            "A Unified Social Credit Code has 18 characters; this one has 16.",
        ),
        (
            "registered_capital",
            "-5",
            "Ensure this value is greater than or equal to 0.01.",
        ),
        ("founded_on", "2999-01-01", "The founding date is in the future."),
        (
            "district",
            "110101",
            "Select a valid choice. 110101 is not one of the available choices.",
        ),
        (
            "industry",
            "Z",
            "Select a valid choice. Z is not one of the available choices.",
        ),
    ],
)
def test_register_rejects_bad_input_with_a_field_error_and_stores_nothing(
    client, field, value, message
):
    client.force_login(UserFactory())
    response = client.post("/en/portal/enterprise/register/", {**VALID, field: value})
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert Enterprise.objects.count() == 0
    assert Organization.objects.filter(kind="enterprise").count() == 0


def test_a_code_already_registered_is_refused(client):
    _enterprise, _owner = enterprise_with_owner(uscc="91440300708461136T")
    client.force_login(UserFactory())
    response = client.post("/en/portal/enterprise/register/", VALID)
    assert response.status_code == 400
    assert response.context["form"].errors["uscc"] == [
        "An enterprise with the code 91440300708461136T is already registered; ask its owner to invite you."
    ]
    assert Enterprise.objects.count() == 1


def _consent_post(client, action, **extra):
    from accounts.selectors import platform_organization

    data = {
        "grantee": platform_organization().pk,
        "purpose": "scoring",
        "categories": ["tax", "court"],
        "months": "12",
        "retention_days": "180",
        "action": action,
        **extra,
    }
    return client.post("/en/portal/enterprise/consents/new/", data)


def test_owner_reads_the_notice_then_grants_it(
    client, django_capture_on_commit_callbacks
):
    _enterprise, owner = enterprise_with_owner()
    client.force_login(owner)
    preview = _consent_post(client, "preview")
    assert preview.status_code == 200
    text = preview.context["preview"]["text"]
    assert "Purpose: Credit scoring and product matching" in text
    assert "Data categories: Court judgements and enforcement, Tax" in text
    sha = preview.context["preview"]["sha256"]
    assert f'value="{sha}"' in preview.content.decode()
    assert CreditAuthorization.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=False):
        response = _consent_post(client, "grant", notice_sha256=sha, agree="on")
    assert response.status_code == 302
    authorization = CreditAuthorization.objects.get()
    assert (authorization.notice_text, authorization.notice_language) == (text, "en")
    assert authorization.scope == ["court", "tax"]
    assert IngestionRun.objects.get().categories == ["court", "tax"]


def test_grant_without_ticking_agree_grants_nothing(client):
    _enterprise, owner = enterprise_with_owner()
    client.force_login(owner)
    sha = _consent_post(client, "preview").context["preview"]["sha256"]
    response = _consent_post(client, "grant", notice_sha256=sha)
    assert response.status_code == 400
    assert response.context["form"].errors["agree"] == [
        "Tick the box to confirm you have read the notice."
    ]
    assert CreditAuthorization.objects.count() == 0


def test_grant_with_a_stale_fingerprint_is_refused(client):
    _enterprise, owner = enterprise_with_owner()
    client.force_login(owner)
    response = _consent_post(client, "grant", notice_sha256="f" * 64, agree="on")
    assert response.status_code == 409
    assert CreditAuthorization.objects.count() == 0


def test_consent_over_twelve_months_is_a_field_error(client):
    _enterprise, owner = enterprise_with_owner()
    client.force_login(owner)
    response = _consent_post(client, "preview", months="13")
    assert response.status_code == 400
    assert response.context["form"].errors["months"] == [
        "Ensure this value is less than or equal to 12."
    ]


def test_revoke_is_one_click_and_shows_on_the_consents_page(client):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner)
    client.force_login(owner)
    page = client.get("/en/portal/enterprise/consents/").content.decode()
    assert f'action="/en/portal/enterprise/consents/{authorization.pk}/revoke/"' in page
    response = client.post(f"/en/portal/enterprise/consents/{authorization.pk}/revoke/")
    assert response.status_code == 302
    authorization.refresh_from_db()
    assert authorization.revoked_by == owner
    assert "Revoked" in client.get("/en/portal/enterprise/consents/").content.decode()


def test_a_member_cannot_revoke(client):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner)
    member = UserFactory()
    Membership.objects.create(
        user=member, organization=enterprise.organization, role=Role.MEMBER
    )
    client.force_login(member)
    client.post(f"/en/portal/enterprise/consents/{authorization.pk}/revoke/")
    authorization.refresh_from_db()
    assert authorization.revoked_at is None


def test_another_enterprise_cannot_touch_my_consent(client):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner)
    _other, intruder = enterprise_with_owner()
    client.force_login(intruder)
    assert (
        client.post(
            f"/portal/enterprise/consents/{authorization.pk}/revoke/"
        ).status_code
        == 404
    )
    assert (
        client.get(f"/portal/enterprise/consents/{authorization.pk}/").status_code
        == 404
    )
    authorization.refresh_from_db()
    assert authorization.revoked_at is None


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_sme_pages_render_in_both_languages(client, prefix):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner)
    client.force_login(owner)
    for path in ["data/", "consents/", "consents/new/", "access-log/"]:
        response = client.get(f"{prefix}/portal/enterprise/{path}")
        assert response.status_code == 200, path
    assert DataAccessLog.objects.count() == 0
