"""A page load that only reads writes nothing to the database. Writing on every
signed-in request (allauth's session activity row) turned concurrent page loads on
the embedded SQLite default into "database is locked" errors; the activity is now
written at most once per ``USERSESSIONS_TRACK_INTERVAL_SECONDS``."""

from __future__ import annotations

import re

import pytest
from allauth.usersessions.models import UserSession
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.models import OrganizationKind, Role
from tests.factories import OrganizationFactory, UserFactory, activate_totp
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _writes(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return [q["sql"] for q in queries.captured_queries if WRITE.match(q["sql"])]


def _editor_client(client):
    user = UserFactory()
    account_services.membership_create(
        user=user,
        organization=OrganizationFactory(kind=OrganizationKind.PROMOTION_OFFICE),
        role=Role.EDITOR,
    )
    activate_totp(user)
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/pages/", "/portal/office/", "/products/"]
)
def test_a_second_load_of_a_page_writes_nothing(client, path):
    _editor_client(client)
    client.get(path)  # the first load may create per-user rows (Wagtail's profile)

    assert _writes(client, path) == []


def test_session_activity_is_written_once_per_interval(client, settings):
    settings.USERSESSIONS_TRACK_INTERVAL_SECONDS = 300
    user = UserFactory()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    session = UserSession.objects.get(user=user)
    seen = session.last_seen_at

    for _ in range(3):
        client.get("/portal/")

    session.refresh_from_db()
    assert session.last_seen_at >= seen
    # Within the interval, later loads do not touch the row again.
    after_first = session.last_seen_at
    client.get("/portal/")
    session.refresh_from_db()
    assert session.last_seen_at == after_first
