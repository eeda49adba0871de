"""Signup → verification email → login → the portal of the user's role."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import Invitation, Membership, OrganizationKind, Role, User
from tests.factories import OrganizationFactory, UserFactory, activate_totp, totp_code

PASSWORD = "Correct-Horse-42-battery"
CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/[^\s]*confirm-email/[^\s]+/)")


def _signup_and_verify(client, email: str) -> User:
    response = client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email=email)
    assert not EmailAddress.objects.get(user=user).verified
    verification = [m for m in mail.outbox if email in m.to][-1]
    path = CONFIRM_LINK.search(verification.body).group(1)
    assert (
        client.get(path).status_code == 200
    )  # a confirmation page, not a GET side effect
    assert client.post(path).status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    return user


def _login(client, email: str, password: str = PASSWORD, path: str | None = None):
    return client.post(
        path or reverse("account_login"), {"login": email, "password": password}
    )


ROLE_CASES = [
    (OrganizationKind.ENTERPRISE, Role.OWNER, "accounts:portal_enterprise", False),
    (OrganizationKind.ENTERPRISE, Role.MEMBER, "accounts:portal_enterprise", False),
    (OrganizationKind.LENDER, Role.ADMIN, "accounts:portal_lender", True),
    (OrganizationKind.LENDER, Role.REVIEWER, "accounts:portal_lender", True),
    (OrganizationKind.PROMOTION_OFFICE, Role.EDITOR, "accounts:portal_office", True),
    (OrganizationKind.PROMOTION_OFFICE, Role.REVIEWER, "accounts:portal_office", True),
    (OrganizationKind.PLATFORM, Role.OPERATOR, "accounts:portal_operator", True),
]


@pytest.mark.parametrize(("kind", "role", "portal", "needs_mfa"), ROLE_CASES)
def test_signup_verify_login_lands_on_the_role_portal(
    client, db, django_capture_on_commit_callbacks, kind, role, portal, needs_mfa
):
    organization = OrganizationFactory(kind=kind)
    email = f"new-{kind}-{role}@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            organization=organization, email=email, role=role, invited_by=None
        )
    invitation_mail = mail.outbox[-1]
    assert invitation_mail.to == [email]
    assert organization.name in invitation_mail.subject

    user = _signup_and_verify(client, email)
    assert not Membership.objects.filter(user=user).exists()

    response = _login(client, email)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:portal")
    membership = Membership.objects.get(user=user)
    assert (membership.organization, membership.role) == (organization, role)
    assert Invitation.objects.get(email=email).accepted_by == user

    response = client.get(reverse("accounts:portal"))
    if needs_mfa:
        # Staff cannot reach even the portal dispatcher before setting up TOTP.
        assert response["Location"] == reverse("mfa_activate_totp")
        assert client.get(reverse(portal))["Location"] == reverse("mfa_activate_totp")
        activate_totp(user)
        response = client.get(reverse("accounts:portal"))
    assert response["Location"] == reverse(portal)
    response = client.get(reverse(portal))
    assert response.status_code == 200
    assert organization.name in response.content.decode()
    assert f'data-portal="{kind}"' in response.content.decode()


def test_unverified_user_cannot_log_in(client, db):
    user = UserFactory(verified=False)
    response = _login(client, user.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_user_without_organization_sees_how_to_join(client, db):
    user = UserFactory()
    _login(client, user.email)
    response = client.get(reverse("accounts:portal"))
    assert response.status_code == 200
    assert 'data-portal="none"' in response.content.decode()


def test_member_of_another_kind_gets_404_on_a_portal(client, db):
    user = UserFactory()
    organization = OrganizationFactory(kind=OrganizationKind.ENTERPRISE)
    Membership.objects.create(user=user, organization=organization, role=Role.OWNER)
    _login(client, user.email)
    assert client.get(reverse("accounts:portal_lender")).status_code == 404
    assert client.get(reverse("accounts:portal_operator")).status_code == 404


def test_office_membership_grants_wagtail_editor_group(db):
    user = UserFactory()
    office = OrganizationFactory(kind=OrganizationKind.PROMOTION_OFFICE)
    services.membership_create(user=user, organization=office, role=Role.EDITOR)
    assert list(user.groups.values_list("name", flat=True)) == ["Editors"]
    assert user.has_perm("wagtailadmin.access_admin")


def test_expired_invitation_is_not_accepted(client, db):
    from datetime import timedelta

    from django.utils import timezone

    organization = OrganizationFactory(kind=OrganizationKind.LENDER)
    user = UserFactory()
    Invitation.objects.create(
        organization=organization,
        email=user.email,
        role=Role.ADMIN,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    _login(client, user.email)
    assert not Membership.objects.filter(user=user).exists()


def test_totp_login_for_bank_staff(client, db):
    user = UserFactory()
    lender = OrganizationFactory(kind=OrganizationKind.LENDER)
    Membership.objects.create(user=user, organization=lender, role=Role.REVIEWER)
    secret = activate_totp(user)
    response = _login(client, user.email)
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.get(reverse("accounts:portal_lender")).status_code == 200
