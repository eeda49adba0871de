"""Signed webhooks to banks: verification, retries with backoff, the attempt log."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from accounts.models import Role
from accounts.selectors import platform_organization
from core import signing
from core.signing import SignatureVerificationError
from lenders import services, webhooks
from lenders.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.factories import MembershipFactory
from tests.factories.lenders import LoanProductFactory, lender_with_staff

pytestmark = pytest.mark.django_db
URL = "https://bank.example/hooks/xyd"


@pytest.fixture
def bank(settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    lender, admin, _ = lender_with_staff()
    endpoint = WebhookEndpoint.objects.create(
        lender=lender, url=URL, secret=webhooks.new_secret()
    )
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    return lender, admin, operator, endpoint


def _approve(lender, admin, operator, capture):
    product = LoanProductFactory(lender=lender)
    services.product_transition(product=product, action="submit", actor=admin)
    with capture(execute=True):
        services.product_transition(product=product, action="approve", actor=operator)
    return product


def test_approval_event_is_signed_and_verifies_on_the_receiving_side(
    bank, django_capture_on_commit_callbacks
):
    lender, admin, operator, endpoint = bank
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, status=200, body="ok")
        product = _approve(lender, admin, operator, django_capture_on_commit_callbacks)
        request = mock.calls[0].request
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    # What a bank's receiver does: verify with the shared secret, then parse.
    signing.verify(endpoint.secret, body, request.headers[signing.HEADER_NAME])
    event = json.loads(body)
    assert event["type"] == "product.approved"
    assert event["data"] == {"product": product.code, "version": 1}
    assert request.headers["X-Xyd-Event"] == "product.approved"
    with pytest.raises(SignatureVerificationError) as raised:
        signing.verify("whsec_wrong", body, request.headers[signing.HEADER_NAME])
    assert raised.value.reason == "bad_signature"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)


def test_a_500_then_200_endpoint_gets_exactly_two_attempts(
    bank, django_capture_on_commit_callbacks
):
    lender, admin, operator, _endpoint = bank
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, status=500, body="busy")
        mock.add(responses.POST, URL, status=200, body="ok")
        _approve(lender, admin, operator, django_capture_on_commit_callbacks)
        assert len(mock.calls) == 2
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    assert list(
        WebhookAttempt.objects.values_list("number", "status_code", "response_excerpt")
    ) == [(1, 500, "busy"), (2, 200, "ok")]


def test_a_dead_endpoint_stops_after_the_retry_limit_with_every_attempt_logged(
    bank, django_capture_on_commit_callbacks
):
    lender, admin, operator, _endpoint = bank
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST, URL, body=requests.ConnectionError("connection refused")
        )
        _approve(lender, admin, operator, django_capture_on_commit_callbacks)
        assert len(mock.calls) == 4
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 4)
    attempts = list(WebhookAttempt.objects.order_by("number"))
    assert [a.number for a in attempts] == [1, 2, 3, 4]
    assert all(a.status_code is None and "ConnectionError" in a.error for a in attempts)


def test_backoff_doubles():
    assert [webhooks.backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]


def test_manual_redelivery_is_one_more_logged_attempt(
    bank, client, django_capture_on_commit_callbacks
):
    from tests.factories import activate_totp

    lender, admin, operator, _endpoint = bank
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, status=200)
        _approve(lender, admin, operator, django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        activate_totp(admin)
        client.force_login(admin)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/portal/bank/webhook/deliveries/{delivery.pk}/redeliver/"
            )
        assert response.status_code == 302
        assert len(mock.calls) == 2
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2


def test_no_endpoint_no_delivery(django_capture_on_commit_callbacks):
    lender, admin, _ = lender_with_staff()
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    with responses.RequestsMock():
        _approve(lender, admin, operator, django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 0
