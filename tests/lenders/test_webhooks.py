"""Webhooks to banks: Standard Webhooks signatures, Celery retries, the attempt log."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import time
from unittest import mock

import pytest
import requests
import responses
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import Role
from accounts.selectors import platform_organization
from lenders import services, webhooks
from lenders.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from lenders.tasks import deliver_webhook
from tests.factories import MembershipFactory
from tests.factories.lenders import LoanProductFactory, lender_with_staff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_retries")]
URL = "https://bank.example/hooks/xyd"
# Secrets as issued before the Standard Webhooks format: "whsec_" + token_urlsafe(32).
# The stock library cannot use either as it is: it drops "-" and "_" and then either
# fails to decode (the first) or derives a 31-byte key that is not the secret's (the
# second).
OLD_SECRETS = [
    "whsec_Jq3-Xv_9kL2mN8pQ4rS7tU1wY5zA6bC0dE3fG8hJ1kM",
    "whsec_Jq3-Xv99kL2mN8pQ4rS7tU1wY5zA6bC0dE3fG8hJ1kM",
]


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


def _emit(endpoint, capture, data=None):
    with capture(execute=True):
        return webhooks.event_emit(
            lender=endpoint.lender,
            event_type="product.approved",
            data=data or {"product": "P-1", "version": 1},
        )


def _body(request) -> bytes:
    return request.body if isinstance(request.body, bytes) else request.body.encode()


def _attempts():
    return list(WebhookAttempt.objects.order_by("number"))


# --- Signatures ---------------------------------------------------------------------


def test_approval_event_carries_standard_webhooks_headers(
    bank, django_capture_on_commit_callbacks
):
    lender, admin, operator, _endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200, body="ok")
        before = int(time.time())
        product = _approve(lender, admin, operator, django_capture_on_commit_callbacks)
        request = http.calls[0].request
    delivery = WebhookDelivery.objects.get()
    assert request.headers["webhook-id"] == delivery.event_id
    assert before <= int(request.headers["webhook-timestamp"]) <= int(time.time())
    version, signature = request.headers["webhook-signature"].split(",")
    assert version == "v1"
    assert len(base64.b64decode(signature, validate=True)) == 32  # HMAC-SHA256
    assert request.headers["X-Xyd-Event"] == "product.approved"
    assert "X-Xyd-Signature" not in request.headers
    event = json.loads(_body(request))
    assert event["id"] == delivery.event_id
    assert event["type"] == "product.approved"
    assert event["data"] == {"product": product.code, "version": 1}
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)


def test_a_delivery_verifies_with_the_stock_library_and_a_forgery_does_not(
    bank, django_capture_on_commit_callbacks
):
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200)
        _emit(endpoint, django_capture_on_commit_callbacks, {"product": "P-1"})
        request = http.calls[0].request
    body, headers = _body(request), dict(request.headers)
    # What a bank's receiver does: verify with the shared secret, then use the event.
    event = Webhook(endpoint.secret).verify(body, headers)
    assert event["data"] == {"product": "P-1"}

    tampered = body.replace(b'"P-1"', b'"P-2"')
    assert tampered != body
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(endpoint.secret).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(webhooks.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(endpoint.secret).verify(
            body, {**headers, "webhook-id": "evt_someone_else"}
        )
    # A correctly signed delivery that is too old (a replay) is refused, and so is a
    # captured one whose timestamp was moved back.
    old = int(time.time()) - 10 * 60
    stale = webhooks.signature_headers(
        endpoint.secret, headers["webhook-id"], body, timestamp=old
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(endpoint.secret).verify(body, stale)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(endpoint.secret).verify(
            body, {**headers, "webhook-timestamp": str(old)}
        )


def test_every_attempt_has_the_same_id_and_its_own_valid_signature(
    bank, django_capture_on_commit_callbacks
):
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=503)
        http.add(responses.POST, URL, status=200)
        delivery = _emit(endpoint, django_capture_on_commit_callbacks)
        requests_sent = [call.request for call in http.calls]
    assert [r.headers["webhook-id"] for r in requests_sent] == [delivery.event_id] * 2
    for request in requests_sent:
        Webhook(endpoint.secret).verify(_body(request), dict(request.headers))


def test_new_secrets_are_spec_conformant():
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert 24 <= len(key) <= 64
    assert webhooks.signing_key(secret) == key
    assert webhooks.standard_secret(secret) == secret
    assert webhooks.new_secret() != secret


@pytest.mark.parametrize("old_secret", OLD_SECRETS)
def test_an_endpoint_with_an_old_format_secret_still_gets_verifiable_deliveries(
    bank, django_capture_on_commit_callbacks, old_secret
):
    _lender, _admin, _operator, endpoint = bank
    endpoint.secret = old_secret
    endpoint.save()
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200)
        _emit(endpoint, django_capture_on_commit_callbacks)
        request = http.calls[0].request
    body, headers = _body(request), dict(request.headers)
    # The key is the 32 bytes the URL-safe text encodes ...
    raw_key = base64.urlsafe_b64decode(old_secret.removeprefix("whsec_") + "=")
    assert webhooks.signing_key(old_secret) == raw_key
    Webhook(raw_key).verify(body, headers)
    # ... which every stock library gets from the secret in standard base64.
    converted = webhooks.standard_secret(old_secret)
    assert converted == "whsec_" + base64.b64encode(raw_key).decode()
    Webhook(converted).verify(body, headers)
    # The old text as it is does not work with the stock library.
    with pytest.raises((WebhookVerificationError, binascii.Error)):
        Webhook(old_secret).verify(body, headers)
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


# --- Retries ------------------------------------------------------------------------


def test_503_then_timeout_then_200_is_three_attempts_then_succeeded(
    bank, django_capture_on_commit_callbacks, retry_spy
):
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=503, body="busy")
        http.add(responses.POST, URL, body=requests.ReadTimeout("read timed out"))
        http.add(responses.POST, URL, status=200, body="ok")
        _emit(endpoint, django_capture_on_commit_callbacks)
        assert len(http.calls) == 3
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 3)
    assert delivery.next_attempt_at is None
    attempts = _attempts()
    assert [(a.number, a.status_code, a.response_excerpt) for a in attempts] == [
        (1, 503, "busy"),
        (2, None, ""),
        (3, 200, "ok"),
    ]
    assert "ReadTimeout" in attempts[1].error
    assert retry_spy.call_count == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 301])
def test_a_client_error_fails_at_once_without_a_retry(
    bank, django_capture_on_commit_callbacks, retry_spy, status
):
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=status, body="no")
        _emit(endpoint, django_capture_on_commit_callbacks)
        assert len(http.calls) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.next_attempt_at is None
    assert [(a.number, a.status_code) for a in _attempts()] == [(1, status)]
    retry_spy.assert_not_called()


def test_a_408_is_retried(bank, django_capture_on_commit_callbacks, retry_spy):
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=408)
        http.add(responses.POST, URL, status=200)
        _emit(endpoint, django_capture_on_commit_callbacks)
        assert len(http.calls) == 2
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    assert [a.status_code for a in _attempts()] == [408, 200]
    assert retry_spy.call_count == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_a_lower_bound_on_the_countdown(
    bank, django_capture_on_commit_callbacks, retry_spy, settings, status
):
    # A 1 s backoff factor: the jittered wait alone is at most 1 s, so 7 s can only
    # come from the Retry-After.
    settings.WEBHOOK_BACKOFF_SECONDS = 1
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=status, headers={"Retry-After": "7"})
        http.add(responses.POST, URL, status=200)
        _emit(endpoint, django_capture_on_commit_callbacks)
        assert len(http.calls) == 2
    retry_spy.assert_called_once()
    assert retry_spy.call_args.kwargs["countdown"] >= 7
    assert retry_spy.call_args.kwargs["max_retries"] == 3
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)


def test_next_attempt_at_records_the_scheduled_retry(
    bank, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    _lender, _admin, _operator, endpoint = bank
    seen = []

    def observe(*args, **kwargs):
        delivery = WebhookDelivery.objects.get()
        seen.append((delivery.status, delivery.next_attempt_at))
        return original(*args, **kwargs)

    original = deliver_webhook.retry
    with (
        mock.patch.object(deliver_webhook, "retry", side_effect=observe),
        responses.RequestsMock() as http,
    ):
        http.add(responses.POST, URL, status=429, headers={"Retry-After": "120"})
        http.add(responses.POST, URL, status=500)
        _emit(endpoint, django_capture_on_commit_callbacks)
    [(status, next_at)] = seen
    assert status == DeliveryStatus.RETRYING
    assert next_at is not None
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, None)
    first = delivery.attempt_log.get(number=1)
    assert next_at - first.requested_at >= dt.timedelta(seconds=119)


def test_an_endpoint_that_keeps_answering_503_fails_after_max_attempts(
    bank, django_capture_on_commit_callbacks, retry_spy, settings
):
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=503, body="down")
        _emit(endpoint, django_capture_on_commit_callbacks)
        assert len(http.calls) == settings.WEBHOOK_MAX_ATTEMPTS == 4
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 4)
    assert delivery.next_attempt_at is None
    assert [(a.number, a.status_code) for a in _attempts()] == [
        (n, 503) for n in (1, 2, 3, 4)
    ]
    assert retry_spy.call_count == 3  # max_retries = WEBHOOK_MAX_ATTEMPTS - 1


def test_a_dead_endpoint_stops_after_the_retry_limit_with_every_attempt_logged(
    bank, django_capture_on_commit_callbacks
):
    lender, admin, operator, _endpoint = bank
    with responses.RequestsMock() as http:
        http.add(
            responses.POST, URL, body=requests.ConnectionError("connection refused")
        )
        _approve(lender, admin, operator, django_capture_on_commit_callbacks)
        assert len(http.calls) == 4
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 4)
    attempts = _attempts()
    assert [a.number for a in attempts] == [1, 2, 3, 4]
    assert all(a.status_code is None and "ConnectionError" in a.error for a in attempts)


def test_the_backoff_is_celerys_exponential_full_jitter(
    bank, django_capture_on_commit_callbacks, settings
):
    _lender, _admin, _operator, endpoint = bank
    with (
        mock.patch(
            "lenders.webhooks.get_exponential_backoff_interval", return_value=5
        ) as backoff,
        responses.RequestsMock() as http,
    ):
        http.add(responses.POST, URL, status=500)
        http.add(responses.POST, URL, status=502)
        http.add(responses.POST, URL, status=200)
        _emit(endpoint, django_capture_on_commit_callbacks)
    assert backoff.call_args_list == [
        mock.call(
            factor=settings.WEBHOOK_BACKOFF_SECONDS,
            retries=retries,
            maximum=webhooks.BACKOFF_CAP_SECONDS,
            full_jitter=True,
        )
        for retries in (0, 1)
    ]


def test_the_jittered_countdown_stays_within_zero_and_the_cap(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 30
    cap = webhooks.BACKOFF_CAP_SECONDS
    for retries in range(20):
        ceiling = min(cap, 30 * 2**retries)
        countdowns = {webhooks.retry_countdown(retries) for _ in range(200)}
        assert all(0 <= c <= ceiling <= cap for c in countdowns)
    # Jitter: the waits after the first failure are spread, not all the same.
    assert len({webhooks.retry_countdown(0) for _ in range(200)}) > 5
    # A Retry-After raises the floor but never beyond the cap.
    assert all(7 <= webhooks.retry_countdown(0, 7) <= 30 for _ in range(100))
    assert webhooks.retry_countdown(0, 10**9) == cap


def test_retry_after_is_read_only_as_seconds_on_429_and_503():
    def answer(status, value):
        response = requests.Response()
        response.status_code = status
        response.headers["Retry-After"] = value
        return response

    assert webhooks.retry_after_seconds(answer(429, "7")) == 7
    assert webhooks.retry_after_seconds(answer(503, " 120 ")) == 120
    assert webhooks.retry_after_seconds(answer(500, "7")) is None
    assert (
        webhooks.retry_after_seconds(answer(429, "Wed, 21 Oct 2026 07:28:00 GMT"))
        is None
    )
    assert webhooks.retry_after_seconds(answer(429, "-1")) is None
    assert webhooks.retry_after_seconds(answer(429, "²")) is None


# --- Manual redelivery, idempotency, enqueueing -------------------------------------


def test_manual_redelivery_is_one_more_logged_attempt(
    bank, client, django_capture_on_commit_callbacks
):
    from tests.factories import activate_totp

    lender, admin, operator, _endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200)
        _approve(lender, admin, operator, django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        activate_totp(admin)
        client.force_login(admin)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/portal/bank/webhook/deliveries/{delivery.pk}/redeliver/"
            )
        assert response.status_code == 302
        assert len(http.calls) == 2
        assert (
            http.calls[0].request.headers["webhook-id"]
            == http.calls[1].request.headers["webhook-id"]
            == delivery.event_id
        )
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2


def test_a_failed_manual_redelivery_is_not_retried(
    bank, django_capture_on_commit_callbacks, retry_spy
):
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200)
        delivery = _emit(endpoint, django_capture_on_commit_callbacks)
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=503)
        assert deliver_webhook.delay(delivery.pk, manual=True).get() == webhooks.FAILED
        assert len(http.calls) == 1
    retry_spy.assert_not_called()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert delivery.next_attempt_at is None


def test_a_succeeded_delivery_is_not_sent_again(
    bank, django_capture_on_commit_callbacks
):
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock() as http:
        http.add(responses.POST, URL, status=200)
        delivery = _emit(endpoint, django_capture_on_commit_callbacks)
    with responses.RequestsMock() as http:  # any request would fail the test
        assert deliver_webhook.delay(delivery.pk).get() == webhooks.SUCCEEDED
        assert len(http.calls) == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)


def test_event_emit_enqueues_through_core_jobs(bank):
    _lender, _admin, _operator, endpoint = bank
    with mock.patch("lenders.webhooks.jobs.enqueue") as enqueue:
        delivery = webhooks.event_emit(
            lender=endpoint.lender, event_type="product.approved", data={}
        )
    enqueue.assert_called_once_with(deliver_webhook, delivery.pk)


def test_the_delivery_is_sent_only_after_the_commit(
    bank, django_capture_on_commit_callbacks
):
    _lender, _admin, _operator, endpoint = bank
    with responses.RequestsMock(), django_capture_on_commit_callbacks() as callbacks:
        webhooks.event_emit(
            lender=endpoint.lender, event_type="product.approved", data={}
        )
    # Queued for after the commit, not sent inside the transaction.
    assert len(callbacks) == 1
    assert WebhookAttempt.objects.count() == 0


def test_no_endpoint_no_delivery(django_capture_on_commit_callbacks):
    lender, admin, _ = lender_with_staff()
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    with responses.RequestsMock():
        _approve(lender, admin, operator, django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 0


def test_on_a_worker_a_retry_waits_in_the_outbox_until_next_attempt_at(
    bank, django_capture_on_commit_callbacks
):
    """As a worker runs it (not eagerly): the retry is an outbox job due when the
    delivery says, carrying the retry count; the broker is handed nothing."""
    from config.celery import app
    from core.models import OutboxJob, OutboxStatus

    _lender, _admin, _operator, endpoint = bank
    with mock.patch.object(deliver_webhook, "apply_async"):
        _emit(endpoint, django_capture_on_commit_callbacks)
    [first] = OutboxJob.objects.all()
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    deliver_webhook.push_request(
        id="d-1",
        args=first.args,
        kwargs=first.kwargs,
        retries=0,
        called_directly=False,
        outbox_job=first.pk,
    )
    try:
        with (
            mock.patch.object(deliver_webhook, "apply_async") as publish,
            responses.RequestsMock() as http,
        ):
            http.add(responses.POST, URL, status=503, headers={"Retry-After": "120"})
            with pytest.raises(Exception) as raised:
                deliver_webhook(*first.args, **first.kwargs)
    finally:
        deliver_webhook.pop_request()
        app.conf.task_always_eager = previous
    assert type(raised.value).__name__ == "Retry"
    assert publish.call_count == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.RETRYING
    retry = OutboxJob.objects.exclude(pk=first.pk).get()
    assert (retry.task, retry.args, retry.retries, retry.status) == (
        "lenders.tasks.deliver_webhook",
        first.args,
        1,
        OutboxStatus.PENDING,
    )
    assert abs((retry.available_at - delivery.next_attempt_at).total_seconds()) < 2
