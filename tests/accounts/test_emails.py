"""allauth's emails and the invitation: links on SITE_BASE_URL (never the request's
host), the platform's name instead of allauth's "Hello from <host>", the recipient's
language, and the role by its label."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from accounts import services
from accounts.models import OrganizationKind, Role, User
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE = "https://xinyidai.example.cn"
PASSWORD = "Correct-Horse-42-battery"
LINK = re.compile(r"https?://\S+")


def _signup(client, email: str, language: str) -> mail.EmailMessage:
    with translation.override(language):
        url = reverse("account_signup")
    response = client.post(
        url, {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    return [m for m in mail.outbox if email in m.to][-1]


def test_the_verification_email_is_chinese_on_the_base_url_and_names_the_platform(
    client,
):
    message = _signup(client, "zh@example.com", "zh-hans")

    links = LINK.findall(message.body)
    assert links and all(link.startswith(f"{BASE}/") for link in links)
    assert any("/accounts/confirm-email/" in link for link in links)
    assert "testserver" not in message.body + message.subject
    assert "信易贷平台" in message.body
    assert "Hello from" not in message.body
    assert User.objects.get(email="zh@example.com").preferred_language == "zh-hans"


def test_an_english_signup_gets_an_english_verification_email(client):
    message = _signup(client, "en@example.com", "en")

    assert "Hello from Xinyidai!" in message.body
    assert re.search(r"[\u4e00-\u9fff]", message.body) is None  # no Chinese
    assert f"{BASE}/en/accounts/confirm-email/" in message.body
    assert User.objects.get(email="en@example.com").preferred_language == "en"


def test_the_password_reset_link_is_on_the_base_url_in_the_users_language(client):
    user = UserFactory(preferred_language="en")
    client.post(reverse("account_reset_password"), {"email": user.email})

    [message] = [m for m in mail.outbox if user.email in m.to]
    assert "/accounts/password/reset/key/" in message.body
    assert all(link.startswith(f"{BASE}/") for link in LINK.findall(message.body))
    assert "testserver" not in message.body
    assert re.search(r"[\u4e00-\u9fff]", message.body) is None


def test_an_invitation_to_a_new_address_is_in_both_languages_with_the_role_label(
    django_capture_on_commit_callbacks,
):
    bank = OrganizationFactory(kind=OrganizationKind.LENDER, name="深圳示范银行")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            organization=bank,
            email="new@bank.example",
            role=Role.REVIEWER,
            invited_by=None,
        )

    [message] = mail.outbox
    assert "“审核员”" in message.body and "“Reviewer”" in message.body
    assert "reviewer" not in message.body
    assert f"{BASE}/accounts/signup/" in message.body
    assert f"{BASE}/en/accounts/signup/" in message.body
    assert "testserver" not in message.body and ":8000" not in message.body
    assert "信易贷平台 邀请您" in message.body


def test_an_invitation_to_a_known_english_user_is_in_english_only(
    django_capture_on_commit_callbacks,
):
    UserFactory(email="known@bank.example", preferred_language="en")
    bank = OrganizationFactory(kind=OrganizationKind.LENDER, name="深圳示范银行")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            organization=bank,
            email="known@bank.example",
            role=Role.ADMIN,
            invited_by=None,
        )

    [message] = mail.outbox
    assert "with the role “Administrator”" in message.body
    assert (
        re.search(r"[\u4e00-\u9fff]", message.body.replace("深圳示范银行", "")) is None
    )
    assert message.subject == "[Xinyidai] Invitation to join 深圳示范银行"
