"""Signed event notifications to banks, in the Standard Webhooks format.

An event for a lender with an active endpoint becomes a ``WebhookDelivery``; a Celery
task (``lenders.tasks.deliver_webhook``) POSTs it signed as https://www.standardwebhooks.com/
specifies, so a bank verifies it with the stock ``standardwebhooks`` library of its
language:

* ``webhook-id``: the event id, the same on every attempt (the receiver's idempotency
  key);
* ``webhook-timestamp``: unix seconds of this attempt;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed
  with the base64-decoded part of the ``whsec_…`` secret.

A connection error, a timeout, a 5xx, a 408 or a 429 is retried through Celery's own
``retry`` with capped exponential backoff and full jitter, up to
``WEBHOOK_MAX_ATTEMPTS`` attempts (a numeric ``Retry-After`` on a 429 or 503 is a lower
bound on the wait). Any other answer (another 4xx, a 3xx: redirects are not followed)
fails the delivery at once. Every attempt is logged with status, latency and an excerpt
of the answer. A bank can redeliver any event by hand from its portal: one attempt,
never retried. The integrators' documentation is ``docs/webhooks.md``.

The secret is stored encrypted (``core.crypto``) and decrypted only to sign; a secret
no configured key can decrypt fails the attempt (logged, not retried) and nothing is
sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook

from core import crypto, jobs, netguard

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 10.0
SUCCEEDED, RETRY, FAILED = "succeeded", "retry", "failed"

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
# No single wait longer than an hour: a bank that is down longer than that learns of
# its events within the hour after it is back. (The wait itself is in the outbox, not
# the broker: core.jobs.DurableTask.retry.)
BACKOFF_CAP_SECONDS = 3600
# Besides 5xx: the request timed out on their side, or they are rate-limiting us.
RETRYABLE_STATUSES = frozenset({408, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})
RETRYABLE_ERRORS = (
    requests.ConnectionError,  # refused, reset, DNS, TLS (SSLError is one)
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # connection broken mid-answer
)

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
HEADER_EVENT = "X-Xyd-Event"
HEADER_DELIVERY = "X-Xyd-Delivery"  # the event id again, kept for older receivers

# What the attempt log says when the guard stops a delivery: never the address itself.
REFUSED_ERROR = "destination refused: resolves to a non-public address"
UNRESOLVED_ERROR = "destination unresolved: the host does not resolve"
# A signing secret no configured key decrypts (never its value, nor the key).
UNDECRYPTABLE_ERROR = (
    "not sent: the signing secret cannot be decrypted (FIELD_ENCRYPTION_KEYS)"
)

# Secrets issued before the Standard Webhooks format were "whsec_" + token_urlsafe(32):
# URL-safe base64 without padding. Their key is the bytes that base64 encodes.
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


def new_secret() -> str:
    """A spec-conformant secret: ``whsec_`` + standard base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``secret``: its base64 part decoded, as ``standardwebhooks`` does.

    For a spec-conformant secret this is exactly the library's key. The library decodes
    with the standard alphabet only and silently drops ``-`` and ``_``, so for an old
    URL-safe secret it derives a different key or raises ``binascii.Error``; here both
    alphabets and missing padding are accepted, so an old secret keeps the 32 bytes it
    always stood for. ``standard_secret`` gives the same key in the spec's spelling.
    """
    text = secret.removeprefix(SECRET_PREFIX).strip().translate(_URLSAFE_TO_STANDARD)
    text = text.rstrip("=")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as error:
        raise ValueError("The webhook secret is not base64") from error
    if not key:
        raise ValueError("The webhook secret is empty")
    return key


def standard_secret(secret: str) -> str:
    """``secret`` spelled as the spec wants it (standard, padded base64), same key."""
    return SECRET_PREFIX + base64.b64encode(signing_key(secret)).decode()


def signature_headers(
    secret: str, msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` (``timestamp`` defaults to now)."""
    if timestamp is None:
        timestamp = int(time.time())
    signature = Webhook(signing_key(secret)).sign(
        msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode("utf-8")
    )
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature,
    }


def event_emit(*, lender, event_type: str, data: dict):
    """Queue ``event_type`` for the lender's endpoint (after commit); None without one."""
    from lenders.models import WebhookDelivery, WebhookEndpoint
    from lenders.tasks import deliver_webhook

    # Not decrypted here: a secret no key opens fails its delivery, never the event.
    endpoint = (
        WebhookEndpoint.objects.filter(lender=lender, is_active=True)
        .defer("secret")
        .first()
    )
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
    jobs.enqueue(deliver_webhook, delivery.pk)
    return delivery


def delivery_redeliver(*, delivery) -> None:
    """A bank's administrator asks for one more attempt of a delivery (after commit;
    one attempt, never retried, even for a delivery that succeeded)."""
    from lenders.tasks import deliver_webhook

    jobs.enqueue(deliver_webhook, delivery.pk, manual=True)


def max_retries() -> int:
    """Retries after the first attempt: ``WEBHOOK_MAX_ATTEMPTS`` − 1."""
    return max(settings.WEBHOOK_MAX_ATTEMPTS - 1, 0)


def is_retryable_status(status_code: int) -> bool:
    return 500 <= status_code <= 599 or status_code in RETRYABLE_STATUSES


def retry_after_seconds(response: requests.Response) -> int | None:
    """A numeric ``Retry-After`` of a 429 or 503, else None (HTTP dates are ignored)."""
    if response.status_code not in RETRY_AFTER_STATUSES:
        return None
    value = response.headers.get("Retry-After", "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    return int(value)


def retry_countdown(retries: int, retry_after: int | None = None) -> int:
    """Seconds before the next attempt, ``retries`` retries having been made so far.

    Full jitter: uniform in [0, min(cap, WEBHOOK_BACKOFF_SECONDS × 2^retries)], so a
    bank coming back after an outage is not hit by every queued event at once. A
    ``Retry-After`` is a lower bound, itself capped.
    """
    countdown = get_exponential_backoff_interval(
        factor=settings.WEBHOOK_BACKOFF_SECONDS,
        retries=retries,
        maximum=BACKOFF_CAP_SECONDS,
        full_jitter=True,
    )
    if retry_after is not None:
        countdown = max(countdown, min(retry_after, BACKOFF_CAP_SECONDS))
    return countdown


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to ``address`` for requests to ``host``, whatever DNS says by then.

    The URL keeps the name: the ``Host`` header, the TLS SNI and the certificate check
    are all for ``host``; only the TCP connection goes to the address the guard
    checked. A request for another host is refused (redirects are not followed).
    """

    def __init__(self, host: str, address: str) -> None:
        self.pinned_host, self.pinned_address = host.lower(), address
        super().__init__()

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if (host_params.get("host") or "").lower() != self.pinned_host:
            raise ValueError("This connection is pinned to another host")
        host_params["host"] = self.pinned_address
        if host_params.get("scheme") == "https":
            pool_kwargs["server_hostname"] = self.pinned_host
        return host_params, pool_kwargs

    def add_headers(self, request, **kwargs) -> None:
        # urllib3 would name the address it connects to; the receiver expects the name.
        netloc = urlsplit(request.url).netloc.rpartition("@")[2]
        request.headers.setdefault("Host", netloc)


def _post_pinned(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    """POST ``body`` to ``url`` over a connection to an address ``netguard`` checked
    just now; raises ``netguard.UnsafeDestination`` (nothing sent) when it refuses.

    No proxy from the environment is used: a proxy would resolve the name itself.
    """
    with requests.Session() as session:
        session.trust_env = False
        prepared = session.prepare_request(
            requests.Request("POST", url, data=body, headers=headers)
        )
        assert prepared.url is not None  # preparing a request always sets its URL
        if urlsplit(prepared.url).scheme.lower() not in netguard.DEFAULT_PORTS:
            raise requests.exceptions.InvalidSchema(
                f"No connection adapters for {url!r}"
            )
        try:
            host, port = netguard.url_host_port(prepared.url)
        except ValueError as error:
            raise requests.exceptions.InvalidURL(str(error)) from error
        address = netguard.resolve_public(host, port)[0]
        adapter = PinnedAddressAdapter(host, address)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session.send(
            prepared, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), allow_redirects=False
        )


def attempt_delivery(
    delivery_pk: int, *, manual: bool = False, retries: int = 0
) -> tuple[str, int]:
    """One POST of the delivery; returns the outcome and, for a retry, its countdown.

    ``retries`` is how many retries of this delivery Celery has made so far: after the
    last allowed one a retryable failure is final. A manual attempt is never retried.
    The attempt is logged and the delivery's status and next attempt updated in one
    transaction. A delivery that already succeeded is not sent again unless ``manual``.
    """
    from lenders.models import (
        DeliveryStatus,
        WebhookAttempt,
        WebhookDelivery,
        WebhookEndpoint,
    )

    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_pk)
        if delivery.status == DeliveryStatus.SUCCEEDED and not manual:
            return SUCCEEDED, 0
        delivery.attempts += 1
        number = delivery.attempts
        delivery.save(update_fields=["attempts", "updated_at"])
    sent_at = timezone.now()
    started = time.monotonic()
    status_code, excerpt, error = None, "", ""
    retryable, retry_after = False, None
    try:
        # Read here, not with the lock: the secret is decrypted as it is loaded.
        endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
        body = json.dumps(
            delivery.payload, ensure_ascii=False, separators=(",", ":")
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "xinyidai-webhooks/1",
            **signature_headers(endpoint.secret, delivery.event_id, body),
            HEADER_EVENT: delivery.event_type,
            HEADER_DELIVERY: delivery.event_id,
        }
        response = _post_pinned(endpoint.url, body, headers)
        status_code, excerpt = response.status_code, response.text[:500]
        retryable = is_retryable_status(status_code)
        retry_after = retry_after_seconds(response)
    except crypto.DecryptionError as decryption_error:
        # Its key was removed from FIELD_ENCRYPTION_KEYS too early: nothing is sent
        # unsigned. Not retried; an administrator redelivers once the key is back.
        logger.error("Webhook delivery %s not sent: %s", delivery_pk, decryption_error)
        error, retryable = UNDECRYPTABLE_ERROR, False
    except netguard.UnresolvableHost:
        # Retried like any DNS failure: a resolver may be failing for a while.
        error, retryable = UNRESOLVED_ERROR, True
    except netguard.UnsafeDestination:
        # Checked again at each attempt: its DNS may have changed since it was saved.
        error, retryable = REFUSED_ERROR, False
    except requests.RequestException as exception:
        error = f"{type(exception).__name__}: {exception}"[:500]
        # Anything else (an invalid URL, a malformed header) fails the same way again.
        retryable = isinstance(exception, RETRYABLE_ERRORS)
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
        countdown, next_at = 0, None
        if ok:
            outcome, status = SUCCEEDED, DeliveryStatus.SUCCEEDED
        elif not retryable or manual or retries >= max_retries():
            outcome, status = FAILED, DeliveryStatus.FAILED
        else:
            countdown = retry_countdown(retries, retry_after)
            outcome, status = RETRY, DeliveryStatus.RETRYING
            next_at = timezone.now() + timedelta(seconds=countdown)
        WebhookDelivery.objects.filter(pk=delivery_pk).update(
            status=status, next_attempt_at=next_at, updated_at=timezone.now()
        )
    return outcome, countdown
