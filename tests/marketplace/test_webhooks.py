"""Application events reach the bank's webhook endpoint as signed Standard Webhooks
deliveries (``lenders.webhooks``), with the payload of ``services.webhook_payload``:
on submission, and on each action the bank takes through its API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from lenders import webhooks
from lenders.apikeys import api_key_create
from lenders.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from marketplace import services, transitions
from marketplace.models import Application
from tests.factories.lenders import lender_with_staff, listed_product
from tests.factories.marketplace import staff, submitted_application
from tests.lenders.conftest import dns, eager_retries

__all__ = ["dns", "eager_retries"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dns", "eager_retries")]
URL = "https://bank.example/hooks/xyd"


@pytest.fixture
def bank():
    lender, _admin, _reviewer = lender_with_staff()
    endpoint = WebhookEndpoint.objects.create(
        lender=lender, url=URL, secret=webhooks.new_secret()
    )
    product = listed_product(
        lender=lender, code="kcd-1", required_categories=["tax", "court"]
    )
    return lender, product, endpoint


def _body(request) -> bytes:
    return request.body if isinstance(request.body, bytes) else request.body.encode()


def _expected_data(application: Application, version: int) -> dict:
    """What the payload must say, read from the database (not from the code that
    builds it)."""
    application.refresh_from_db()
    event = application.events.get(version=version)
    return {
        "application": application.reference,
        "product": application.product.code,
        "status": application.status,
        "previous_status": event.from_status,
        "action": event.action,
        "version": version,
        "occurred_at": event.created_at.isoformat(),
        "due_at": application.due_at.isoformat() if application.due_at else None,
    }


def _verified(endpoint: WebhookEndpoint, request) -> dict:
    """The event as the bank's receiver gets it: verified with the shared secret by
    the stock library, or this raises."""
    return Webhook(endpoint.secret).verify(_body(request), dict(request.headers))


def test_a_submission_is_delivered_signed_with_its_payload(
    bank, django_capture_on_commit_callbacks
):
    _lender, product, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200, body="ok")
        with django_capture_on_commit_callbacks(execute=True):
            application = submitted_application(product=product)
        (call,) = http.calls

    delivery = WebhookDelivery.objects.get()
    event = _verified(endpoint, call.request)
    assert call.request.headers["webhook-id"] == delivery.event_id
    assert call.request.headers["X-Xyd-Event"] == "application.submitted"
    assert event["id"] == delivery.event_id
    assert event["type"] == "application.submitted"
    assert event["data"] == _expected_data(application, version=1)
    assert event["data"]["status"] == "submitted"
    assert event["data"]["previous_status"] == "draft"
    assert event["data"] == services.webhook_payload(
        application=application, event=application.events.get(version=1)
    )
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)


def test_each_api_action_is_delivered_as_its_event(
    bank, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    lender, product, endpoint = bank
    application = submitted_application(product=product)
    _key, raw = api_key_create(
        lender=lender,
        name="core banking",
        scopes=["applications:read", "applications:write"],
        created_by=staff(application, "admin"),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    steps = [
        ("accept", {}),
        ("start_review", {}),
        ("approve", {"amount": "500000.00", "rate": "4.35", "term": 12}),
    ]
    expected = []
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200)
        for name, body in steps:
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(
                    f"/api/v1/applications/{application.reference}/actions/{name}/",
                    body,
                    format="json",
                )
            assert response.status_code == 200, response.json()
            expected.append(_expected_data(application, response.json()["version"]))
        calls = list(http.calls)

    events = [_verified(endpoint, call.request) for call in calls]
    assert [event["type"] for event in events] == [
        "application.accepted",
        "application.review_started",
        "application.approved",
    ]
    assert [call.request.headers["X-Xyd-Event"] for call in calls] == [
        event["type"] for event in events
    ]
    assert [event["data"] for event in events] == expected
    assert [data["status"] for data in expected] == [
        "accepted",
        "under_review",
        "approved",
    ]
    assert expected[-1]["due_at"] is None  # a decision stops the bank's clock
    assert len({call.request.headers["webhook-id"] for call in calls}) == 3


def test_a_refused_action_sends_nothing(bank, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    lender, product, _endpoint = bank
    application = submitted_application(product=product)
    before = WebhookDelivery.objects.count()
    _key, raw = api_key_create(
        lender=lender,
        name="core banking",
        scopes=["applications:read", "applications:write"],
        created_by=staff(application, "admin"),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    with responses.RequestsMock() as http:  # any request would fail the test
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/api/v1/applications/{application.reference}/actions/approve/",
                {"amount": "500000.00", "rate": "4.35", "term": 12},
                format="json",
            )
        assert len(http.calls) == 0

    assert response.status_code == 409
    assert WebhookDelivery.objects.count() == before


def test_a_bank_without_an_endpoint_gets_no_delivery(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        submitted_application()

    assert WebhookDelivery.objects.count() == 0


def test_every_application_event_type_is_documented():
    text = (Path(settings.BASE_DIR) / "docs" / "api.md").read_text(encoding="utf-8")
    event_types = {"application.submitted"} | {
        transition.event_type for transition in transitions.TRANSITIONS.values()
    }

    missing = sorted(event for event in event_types if f"`{event}`" not in text)

    assert missing == []


def test_the_payload_fields_are_documented():
    text = (Path(settings.BASE_DIR) / "docs" / "api.md").read_text(encoding="utf-8")
    application = submitted_application()
    payload = services.webhook_payload(
        application=application, event=application.events.get()
    )

    missing = sorted(name for name in payload if f"`{name}`" not in text)

    assert missing == []
    assert json.dumps(payload)  # plain JSON: what the delivery sends
