"""Bank roles and secrets: a signing secret is shown to a bank administrator once, when
it is issued; the rest of the bank's staff never see it, nor an API-keys tab that
would answer them 404."""

from __future__ import annotations

import pytest
import responses
from cryptography.fernet import Fernet
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from core import crypto
from lenders import webhooks
from lenders.models import (
    ApiKey,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories import activate_totp
from tests.factories.lenders import lender_with_staff

pytestmark = pytest.mark.django_db

WEBHOOK_PAGE = "/en/portal/bank/webhook/"
URL = "https://bank.example/hooks/xyd"
API_KEYS_LINK = 'href="/en/portal/bank/api-keys/"'


@pytest.fixture
def bank(client):
    lender, admin, reviewer = lender_with_staff()
    activate_totp(admin)
    activate_totp(reviewer)
    client.force_login(admin)
    return lender, admin, reviewer


def raw_secret(endpoint: WebhookEndpoint) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM lenders_webhookendpoint WHERE id = %s", [endpoint.pk]
        )
        return cursor.fetchone()[0]


def stored_state(endpoint: WebhookEndpoint) -> tuple:
    row = WebhookEndpoint.objects.values_list(
        "url", "secret_created_at", "updated_at"
    ).get(pk=endpoint.pk)
    return (raw_secret(endpoint), *row)


# --- Shown once, to an administrator ------------------------------------------------


def test_admin_sees_a_new_secret_once_on_creation_and_never_on_the_next_page(
    client, bank
):
    lender, _admin, _reviewer = bank
    response = client.post(WEBHOOK_PAGE, {"url": URL})
    endpoint = WebhookEndpoint.objects.get(lender=lender)
    assert response.status_code == 200
    assert response.context["new_secret"] == endpoint.secret
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]

    later = client.get(WEBHOOK_PAGE)
    page = later.content.decode()
    assert later.status_code == 200
    assert later.context["new_secret"] is None
    assert endpoint.secret not in page
    assert endpoint.secret.removeprefix("whsec_") not in page
    assert 'data-testid="webhook-secret-status"' in page
    issued = timezone.localtime(endpoint.secret_created_at)
    assert f"(issued {issued:%Y-%m-%d %H:%M})" in page
    assert 'data-testid="webhook-rotate"' in page


def test_admin_sees_the_rotated_secret_once_and_it_is_the_one_stored(client, bank):
    lender, _admin, _reviewer = bank
    client.post(WEBHOOK_PAGE, {"url": URL})
    first = WebhookEndpoint.objects.get(lender=lender)
    response = client.post(WEBHOOK_PAGE, {"url": URL, "rotate": "1"})
    rotated = WebhookEndpoint.objects.get(lender=lender)
    assert response.status_code == 200
    assert rotated.secret != first.secret
    assert response.context["new_secret"] == rotated.secret
    assert rotated.secret in response.content.decode()
    assert first.secret not in response.content.decode()
    assert rotated.secret_created_at > first.secret_created_at
    assert rotated.secret not in client.get(WEBHOOK_PAGE).content.decode()


def test_changing_only_the_url_shows_no_secret_and_keeps_the_stored_one(client, bank):
    lender, _admin, _reviewer = bank
    client.post(WEBHOOK_PAGE, {"url": URL})
    endpoint = WebhookEndpoint.objects.get(lender=lender)
    token, issued = raw_secret(endpoint), endpoint.secret_created_at
    response = client.post(WEBHOOK_PAGE, {"url": "https://bank.example/hooks/v2"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == "https://bank.example/hooks/v2"
    assert (raw_secret(endpoint), endpoint.secret_created_at) == (token, issued)


# --- Never shown to the rest of the staff -------------------------------------------


def test_reviewer_sees_neither_the_secret_nor_rotate_nor_an_api_keys_tab(client, bank):
    lender, _admin, reviewer = bank
    client.post(WEBHOOK_PAGE, {"url": URL})
    endpoint = WebhookEndpoint.objects.get(lender=lender)
    client.force_login(reviewer)
    response = client.get(WEBHOOK_PAGE)
    page = response.content.decode()
    assert response.status_code == 200
    assert endpoint.secret not in page
    assert endpoint.secret.removeprefix("whsec_") not in page
    assert 'data-testid="webhook-rotate"' not in page
    assert 'name="rotate"' not in page
    assert API_KEYS_LINK not in page
    for path in ("/en/portal/bank/products/", "/en/portal/bank/branches/"):
        assert API_KEYS_LINK not in client.get(path).content.decode()
    assert API_KEYS_LINK not in client.get("/en/portal/bank/").content.decode()
    assert client.get("/en/portal/bank/api-keys/").status_code == 404


def test_admin_sees_the_api_keys_tab_on_every_bank_page(client, bank):
    for path in (
        "/en/portal/bank/",
        "/en/portal/bank/products/",
        "/en/portal/bank/products/new/",
        "/en/portal/bank/branches/",
        "/en/portal/bank/branches/new/",
        "/en/portal/bank/api-keys/",
        WEBHOOK_PAGE,
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert API_KEYS_LINK in response.content.decode(), path


def test_reviewer_cannot_rotate_the_secret_and_nothing_changes(client, bank):
    lender, _admin, reviewer = bank
    client.post(WEBHOOK_PAGE, {"url": URL})
    endpoint = WebhookEndpoint.objects.get(lender=lender)
    before = stored_state(endpoint)
    client.force_login(reviewer)
    response = client.post(
        WEBHOOK_PAGE, {"url": "https://bank.example/evil", "rotate": "1"}
    )
    assert response.status_code == 404
    assert endpoint.secret not in response.content.decode()
    assert stored_state(endpoint) == before
    assert WebhookEndpoint.objects.count() == 1


def test_reviewer_cannot_create_an_endpoint_and_nothing_is_stored(client, bank):
    _lender, _admin, reviewer = bank
    client.force_login(reviewer)
    response = client.post(WEBHOOK_PAGE, {"url": URL})
    assert response.status_code == 404
    assert WebhookEndpoint.objects.count() == 0


def test_reviewer_cannot_create_or_revoke_api_keys_and_nothing_changes(client, bank):
    _lender, _admin, reviewer = bank
    client.post(
        "/en/portal/bank/api-keys/", {"name": "core", "scopes": ["products:read"]}
    )
    key = ApiKey.objects.get()
    client.force_login(reviewer)
    response = client.post(
        "/en/portal/bank/api-keys/", {"name": "mine", "scopes": ["products:read"]}
    )
    assert response.status_code == 404
    client.post(reverse("lenders:api_key_revoke", args=[key.pk]))
    assert list(ApiKey.objects.values_list("pk", "revoked_at")) == [(key.pk, None)]


def test_a_new_api_key_answer_is_not_cached(client, bank):
    response = client.post(
        "/en/portal/bank/api-keys/", {"name": "core", "scopes": ["products:read"]}
    )
    assert response.context["raw_key"]
    assert "no-store" in response["Cache-Control"]


# --- Signing with the decrypted secret ----------------------------------------------


def test_deliveries_verify_with_the_secret_shown_once(
    client, bank, django_capture_on_commit_callbacks
):
    lender, _admin, _reviewer = bank
    shown = client.post(WEBHOOK_PAGE, {"url": URL}).context["new_secret"]
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200)
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.event_emit(
                lender=lender, event_type="product.approved", data={"product": "P"}
            )
        request = http.calls[0].request
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    assert Webhook(shown).verify(body, dict(request.headers))["data"] == {
        "product": "P"
    }
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


def test_a_secret_no_key_decrypts_fails_the_delivery_and_sends_nothing(
    client, bank, settings, django_capture_on_commit_callbacks
):
    lender, _admin, _reviewer = bank
    client.post(WEBHOOK_PAGE, {"url": URL})
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with responses.RequestsMock() as http:  # any request would fail the test
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.event_emit(
                lender=lender, event_type="product.approved", data={"product": "P"}
            )
        assert len(http.calls) == 0
    delivery = WebhookDelivery.objects.get()
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert (attempt.status_code, attempt.error) == (None, webhooks.UNDECRYPTABLE_ERROR)
    assert crypto.TOKEN_PREFIX not in attempt.error


def test_an_admin_recovers_from_a_lost_key_by_rotating_the_secret(
    client, bank, settings
):
    lender, _admin, _reviewer = bank
    client.post(WEBHOOK_PAGE, {"url": URL})
    endpoint = WebhookEndpoint.objects.defer("secret").get(lender=lender)
    lost = raw_secret(endpoint)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert client.get(WEBHOOK_PAGE).status_code == 200  # the page needs no secret
    response = client.post(WEBHOOK_PAGE, {"url": URL, "rotate": "1"})
    assert response.status_code == 200
    assert raw_secret(endpoint) != lost
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk).secret
    assert stored == response.context["new_secret"]
