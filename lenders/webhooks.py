"""Signed event notifications to banks.

An event for a lender with an active endpoint becomes a ``WebhookDelivery``; a Celery
task POSTs it, signed with the same HMAC-SHA256 scheme as the provider's webhooks
(``creditdata.signing``: ``X-Xyd-Signature: t=…,v1=…`` over ``"{t}." + body``). A
non-2xx answer, a timeout or a connection error is retried with exponential backoff up
to ``WEBHOOK_MAX_ATTEMPTS``; every attempt is logged with status, latency and an excerpt
of the answer. A bank can redeliver any event by hand from its portal.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import signing

CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 10.0
SUCCEEDED, RETRY, FAILED = "succeeded", "retry", "failed"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def event_emit(*, lender, event_type: str, data: dict):
    """Queue ``event_type`` for the lender's endpoint (after commit); None without one."""
    from lenders.models import WebhookDelivery, WebhookEndpoint
    from lenders.tasks import deliver_webhook

    endpoint = WebhookEndpoint.objects.filter(lender=lender, is_active=True).first()
    if endpoint is None:
        return None
    event_id = "evt_" + uuid.uuid4().hex
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=event_id,
        event_type=event_type,
        payload={
            "id": event_id,
            "type": event_type,
            "created": int(time.time()),
            "data": data,
        },
    )
    transaction.on_commit(lambda: deliver_webhook.delay(delivery.pk))
    return delivery


def backoff_seconds(attempt: int) -> int:
    """Delay before the attempt after ``attempt``: base × 2^(attempt − 1)."""
    return settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1)


def attempt_delivery(delivery_pk: int, *, manual: bool = False) -> tuple[str, int]:
    """One POST of the delivery; returns the outcome and, for a retry, its delay."""
    from lenders.models import DeliveryStatus, WebhookAttempt, WebhookDelivery

    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("endpoint")
            .get(pk=delivery_pk)
        )
        if delivery.status == DeliveryStatus.SUCCEEDED and not manual:
            return SUCCEEDED, 0
        delivery.attempts += 1
        number = delivery.attempts
        delivery.save(update_fields=["attempts", "updated_at"])
    endpoint = delivery.endpoint
    body = json.dumps(
        delivery.payload, ensure_ascii=False, separators=(",", ":")
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "xinyidai-webhooks/1",
        signing.HEADER_NAME: signing.sign(endpoint.secret, body),
        "X-Xyd-Event": delivery.event_type,
        "X-Xyd-Delivery": delivery.event_id,
    }
    sent_at = timezone.now()
    started = time.monotonic()
    status_code, excerpt, error = None, "", ""
    try:
        response = requests.post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,
        )
        status_code, excerpt = response.status_code, response.text[:500]
    except requests.RequestException as exception:
        error = f"{type(exception).__name__}: {exception}"[:500]
    latency = round((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery_id=delivery_pk,
            number=number,
            requested_at=sent_at,
            status_code=status_code,
            latency_ms=latency,
            response_excerpt=excerpt,
            error=error,
        )
        if ok:
            outcome, delay, status, next_at = (
                SUCCEEDED,
                0,
                DeliveryStatus.SUCCEEDED,
                None,
            )
        elif manual or number >= settings.WEBHOOK_MAX_ATTEMPTS:
            outcome, delay, status, next_at = FAILED, 0, DeliveryStatus.FAILED, None
        else:
            delay = backoff_seconds(number)
            outcome, status, next_at = (
                RETRY,
                DeliveryStatus.RETRYING,
                timezone.now() + timedelta(seconds=delay),
            )
        WebhookDelivery.objects.filter(pk=delivery_pk).update(
            status=status, next_attempt_at=next_at, updated_at=timezone.now()
        )
    return outcome, delay
