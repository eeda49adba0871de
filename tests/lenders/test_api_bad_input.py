"""Hostile input to the bank API is a 400 (or 404) with an error body, never a 500,
and changes nothing."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from lenders.apikeys import api_key_create
from lenders.models import LoanProduct
from tests.factories.lenders import LoanProductFactory, lender_with_staff

pytestmark = pytest.mark.django_db
LIST_URL = "/api/v1/products/"


@pytest.fixture
def client():
    lender, admin, _reviewer = lender_with_staff()
    LoanProductFactory(lender=lender, code="kc-1")
    _key, raw = api_key_create(
        lender=lender,
        name="core banking",
        scopes=["products:read", "products:write"],
        created_by=admin,
    )
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")
    return api


def _cursor(position: str) -> str:
    raw = f"p={position}".encode()
    return base64.b64encode(raw).decode()


def test_deeply_nested_json_is_a_400_and_creates_nothing(client):
    body = "[" * 100_000 + "]" * 100_000
    before = LoanProduct.objects.count()
    response = client.post(LIST_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()
    assert LoanProduct.objects.count() == before


@pytest.mark.parametrize("position", ["not-a-date", "\x00", "2026-13-45 99:99"])
def test_a_forged_cursor_is_a_404_with_an_error_body(client, position):
    response = client.get(LIST_URL, {"cursor": _cursor(position)})
    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_nul_byte_in_the_path_is_a_404_not_a_500(client):
    response = client.get(LIST_URL + quote("kc\x00-1") + "/")
    assert response.status_code == 404


def test_a_nul_byte_in_a_field_is_a_400_naming_the_field(client):
    before = LoanProduct.objects.count()
    response = client.post(
        LIST_URL,
        json.dumps({"code": "kc\x00-2", "name": "名\x00称"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert "code" in errors or "name" in errors
    assert LoanProduct.objects.count() == before
