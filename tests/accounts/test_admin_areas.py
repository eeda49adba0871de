"""The two admin areas answer a signed-in user without access with a page saying so
(403), not the redirect loop through the login page they got before."""

from __future__ import annotations

import pytest

from accounts import services as account_services
from accounts.models import OrganizationKind, Role
from tests.factories import OrganizationFactory, UserFactory, activate_totp

MAX_REDIRECTS = 5


def _follow(client, path: str):
    """Follow redirects by hand, so that a loop fails the test instead of hanging."""
    chain = []
    response = client.get(path)
    while response.status_code in (301, 302) and len(chain) < MAX_REDIRECTS:
        chain.append(response["Location"])
        response = client.get(response["Location"])
    return response, chain


@pytest.mark.parametrize(
    ("path", "area"),
    [("/admin/", "内容管理系统"), ("/django-admin/", "系统管理后台")],
)
def test_a_signed_in_user_without_access_is_told_so_not_looped(client, db, path, area):
    client.force_login(UserFactory())

    response, chain = _follow(client, path)

    assert len(chain) == 1  # to the login page, which answers at once
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-testid="admin-no-access"' in html
    assert f"无权访问{area}" in html


@pytest.mark.parametrize("path", ["/admin/", "/django-admin/"])
def test_anonymous_visitors_still_get_the_login_form(client, db, path):
    response, chain = _follow(client, path)

    assert len(chain) == 1
    assert response.status_code == 200
    assert "account/login.html" in [t.name for t in response.templates]


def test_an_office_editor_enters_the_cms(client, db):
    user = UserFactory()
    account_services.membership_create(
        user=user,
        organization=OrganizationFactory(kind=OrganizationKind.PROMOTION_OFFICE),
        role=Role.EDITOR,
    )
    activate_totp(user)
    client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "wagtailadmin/home.html" in [t.name for t in response.templates]
