"""MFA enforcement, TOTP replay, login rate limits and hostile input."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from accounts.models import Invitation, Membership, OrganizationKind, Role, User
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    activate_totp,
    totp_code,
)
from tests.factories.accounts import PASSWORD


def _staff(kind=OrganizationKind.LENDER, role=Role.ADMIN) -> User:
    membership = MembershipFactory(
        organization=OrganizationFactory(kind=kind), role=role
    )
    return membership.user


@pytest.mark.parametrize(
    "path",
    [
        "/portal/bank/",
        "/portal/",
        "/admin/",
        "/en/portal/bank/",
        "/accounts/password/change/",
    ],
)
def test_bank_staff_without_mfa_are_redirected_to_totp_setup(client, db, path):
    user = _staff()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] in {
        reverse("mfa_activate_totp"),
        "/en/accounts/2fa/totp/activate/",
    }


def test_totp_setup_page_itself_is_reachable_without_mfa(client, db):
    user = _staff()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = client.get(reverse("accounts:portal"), follow=True)
    assert response.redirect_chain[-1] == (reverse("mfa_activate_totp"), 302)
    assert response.status_code == 200
    assert "mfa/totp/activate_form.html" in [t.name for t in response.templates]


def test_enterprise_owner_needs_no_mfa(client, db):
    user = _staff(kind=OrganizationKind.ENTERPRISE, role=Role.OWNER)
    client.force_login(user)
    assert client.get(reverse("accounts:portal_enterprise")).status_code == 200


def test_a_reused_totp_code_is_rejected(client, db):
    user = _staff()
    secret = activate_totp(user)
    code = totp_code(secret)

    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    client.post(reverse("account_logout"))

    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].errors["code"] == ["错误代码。"]


@pytest.mark.parametrize("login_path", ["/accounts/login/", "/admin/login/"])
def test_sixth_wrong_password_within_five_minutes_is_refused(client, db, login_path):
    user = UserFactory()
    for _attempt in range(5):
        response = client.post(
            login_path, {"login": user.email, "password": "wrong-password-1"}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["__all__"] == [
            "您提供的电子邮件地址和/或密码不正确。"
        ]
    # The 6th attempt is refused even with the right password.
    response = client.post(login_path, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].errors["__all__"] == [
        "登录失败次数过多，请稍后重试。"
    ]


def test_failures_on_the_site_login_also_lock_the_admin_login(client, db):
    user = UserFactory()
    for _attempt in range(5):
        client.post(
            "/accounts/login/", {"login": user.email, "password": "wrong-password-1"}
        )
    response = client.post("/admin/login/", {"login": user.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert response.context["form"].errors["__all__"] == [
        "登录失败次数过多，请稍后重试。"
    ]


def test_admin_login_page_is_the_allauth_login(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 200
    assert "account/login.html" in [t.name for t in response.templates]


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", PASSWORD, "email"),
        ("a@b", PASSWORD, "email"),
        ("weak@example.com", "123", "password1"),
        ("weak@example.com", "password", "password1"),
        ("weak@example.com", "12345678901", "password1"),
    ],
)
def test_signup_rejects_bad_input_and_creates_nothing(
    client, db, email, password, field
):
    response = client.post(
        "/en/accounts/signup/",
        {"email": email, "password1": password, "password2": password},
    )
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert User.objects.count() == 0


def test_signup_with_mismatched_passwords_creates_nothing(client, db):
    response = client.post(
        "/en/accounts/signup/",
        {"email": "x@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"},
    )
    assert response.context["form"].errors["password2"] == [
        "You must type the same password each time."
    ]
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/steal",
        "javascript:alert(1)",
        "\\\\evil.example",
        "%0d%0a",
    ],
)
def test_login_refuses_open_redirects(client, db, next_url):
    user = UserFactory()
    response = client.post(
        f"/accounts/login/?next={next_url}", {"login": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:portal")


def test_login_follows_a_safe_next(client, db):
    user = UserFactory()
    response = client.post(
        "/accounts/login/?next=/en/portal/", {"login": user.email, "password": PASSWORD}
    )
    assert response["Location"] == "/en/portal/"


def test_invitation_by_non_manager_is_refused_and_nothing_changes(client, db):
    reviewer = _staff(role=Role.REVIEWER)
    activate_totp(reviewer)
    client.force_login(reviewer)
    organization = reviewer.memberships.get().organization
    response = client.post(
        reverse("accounts:invitation_create", args=[organization.pk]),
        {"email": "x@example.com", "role": Role.REVIEWER},
    )
    assert response.status_code == 404
    assert Invitation.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"email": "not-an-email", "role": Role.REVIEWER},
            "Email address: Enter a valid email address.",
        ),
        (
            {"email": "x@example.com", "role": Role.OWNER},
            "Role: Select a valid choice. owner is not one of the available choices.",
        ),
    ],
)
def test_invitation_with_bad_input_says_which_field(client, db, data, message):
    admin = _staff(role=Role.ADMIN)
    activate_totp(admin)
    client.force_login(admin)
    organization = admin.memberships.get().organization
    response = client.post(
        "/en" + reverse("accounts:invitation_create", args=[organization.pk]),
        data,
        follow=True,
    )
    assert message in [str(m) for m in response.context["messages"]]
    assert Invitation.objects.count() == 0


def test_duplicate_invitation_is_refused(
    client, db, django_capture_on_commit_callbacks
):
    admin = _staff(role=Role.ADMIN)
    activate_totp(admin)
    client.force_login(admin)
    organization = admin.memberships.get().organization
    url = "/en" + reverse("accounts:invitation_create", args=[organization.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"email": "new@example.com", "role": Role.REVIEWER})
    response = client.post(
        url, {"email": "NEW@example.com", "role": Role.ADMIN}, follow=True
    )
    assert "An invitation for new@example.com is already pending." in [
        str(m) for m in response.context["messages"]
    ]
    assert Invitation.objects.filter(organization=organization).count() == 1
    assert Membership.objects.filter(organization=organization).count() == 1


def _failed_logins(client, count: int, forwarded_for: str, *, start: int = 0):
    """``count`` failed logins, each for a different address (so only the per-IP
    limit can refuse them), through a proxy at 10.0.0.1; the last answer."""
    response = None
    for attempt in range(start, start + count):
        response = client.post(
            "/accounts/login/",
            {"login": f"nobody{attempt}@example.com", "password": "wrong-password-1"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )
    return response


LOCKED = "登录失败次数过多，请稍后重试。"


def test_two_clients_behind_one_proxy_have_separate_login_buckets(client, db, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    # Client A uses up the per-IP budget (20 a minute) …
    _failed_logins(client, 20, "203.0.113.7")
    refused = _failed_logins(client, 1, "203.0.113.7", start=20)
    assert refused.context["form"].errors["__all__"] == [LOCKED]
    # … and client B behind the same proxy is not locked out by it.
    other = _failed_logins(client, 1, "198.51.100.9", start=21)
    assert other.context["form"].errors["__all__"] == [
        "您提供的电子邮件地址和/或密码不正确。"
    ]


def test_without_a_trusted_proxy_a_forged_forwarded_for_is_ignored(
    client, db, settings
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    _failed_logins(client, 20, "203.0.113.7")
    # A new X-Forwarded-For does not buy a fresh bucket: the address is REMOTE_ADDR.
    refused = _failed_logins(client, 1, "198.51.100.9", start=20)
    assert refused.context["form"].errors["__all__"] == [LOCKED]


def test_the_trusted_proxy_count_and_header_come_from_the_environment():
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings.dev';"
        "django.setup(); from django.conf import settings;"
        "print(settings.ALLAUTH_TRUSTED_PROXY_COUNT, settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER)"
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRUSTED_", "DJANGO_SETTINGS"))
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **environment,
            "TRUSTED_PROXY_COUNT": "2",
            "TRUSTED_CLIENT_IP_HEADER": "X-Real-IP",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.split() == ["2", "X-Real-IP"]


def test_signup_hashes_a_password_whether_or_not_the_address_is_registered(
    client, db, settings
):
    """Signup says the same for a known and a new address, and does the same costly
    work (one password hash) on both paths, so its timing tells nothing either."""
    from unittest import mock

    from django.contrib.auth.hashers import get_hasher
    from django.core import mail

    known = UserFactory()
    hasher = type(get_hasher())

    original = hasher.encode

    def signup(email):
        calls = []

        def encode(self, password, salt):
            calls.append(password)
            return original(self, password, salt)

        with mock.patch.object(hasher, "encode", encode):
            response = client.post(
                "/accounts/signup/",
                {"email": email, "password1": PASSWORD, "password2": PASSWORD},
            )
        client.logout()
        return response, len(calls)

    known_response, known_hashes = signup(known.email)
    new_response, new_hashes = signup("brand-new@example.com")
    assert known_hashes == new_hashes == 1
    assert (known_response.status_code, known_response.url) == (
        new_response.status_code,
        new_response.url,
    )
    # One mail each: "you already have an account" and "confirm your address".
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [known.email, "brand-new@example.com"]
    )
