"""``signed_in_user``: the typed ``request.user`` of pages behind ``@login_required``."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse

from accounts.decorators import operator_membership, signed_in_user
from accounts.models import Membership, User
from tests.factories import UserFactory


def test_signed_in_user_is_the_request_user(db):
    user = UserFactory()
    request = RequestFactory().get("/")
    request.user = user

    assert signed_in_user(request) is user


def test_an_anonymous_visitor_is_refused_not_passed_on(db):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    users, memberships = User.objects.count(), Membership.objects.count()

    with pytest.raises(PermissionDenied):
        signed_in_user(request)
    with pytest.raises(PermissionDenied):
        operator_membership(request)
    assert (User.objects.count(), Membership.objects.count()) == (users, memberships)


def test_operator_pages_still_require_login_first(client, db):
    response = client.get(reverse("scoring:models"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
