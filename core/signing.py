"""HMAC-SHA256 signatures of the provider's webhook deliveries (and the sandbox's).

The header is ``X-Xyd-Signature: t=<unix seconds>,v1=<hex hmac>``. The timestamp is
part of the signed payload (``b"<t>." + body``) so a captured delivery cannot be
re-sent later with a fresh timestamp: the ``tolerance`` window bounds how long a
captured delivery stays usable, and the receiving view closes that window completely by
remembering event ids (replay protection is not done here).

Several ``v1=`` entries may appear: while a secret is being rotated the sender signs
with both the old and the new secret, and a receiver that knows either accepts it, so
the rotation needs no synchronised deployment.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Final

from core.exceptions import DomainError

HEADER_NAME = "X-Xyd-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300

# Unix seconds: digits only (no sign, spaces or underscores that int() would accept),
# and few enough of them that a hostile header cannot make us parse a huge number.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")


SIGNATURE_FAILURE_REASONS: Final = frozenset(
    {"missing_header", "malformed_header", "stale_timestamp", "bad_signature"}
)


class SignatureVerificationError(DomainError):
    """A webhook delivery whose signature header cannot be trusted.

    ``reason`` is one of ``SIGNATURE_FAILURE_REASONS`` so a view can count and log the
    kind of failure (a burst of ``stale_timestamp`` is a clock problem, a burst of
    ``bad_signature`` is a forgery attempt or a rotated secret) without parsing text.
    It is deliberately not a ``ProviderError``: webhooks from banks use it too.
    """

    message: str  # plain text here: the caller's words or the reason's

    def __init__(self, reason: str, message: str | None = None) -> None:
        if reason not in SIGNATURE_FAILURE_REASONS:
            raise ValueError(f"Unknown signature failure reason: {reason!r}")
        self.reason = reason
        self.message = message or reason.replace("_", " ")
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(
        self,
    ) -> tuple[type[SignatureVerificationError], tuple[str, str]]:
        return (self.__class__, (self.reason, self.message))


def _signature(secret: str, timestamp: int, body: bytes) -> str:
    payload = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Return the ``X-Xyd-Signature`` header value for ``body``.

    ``timestamp`` defaults to now; tests and re-deliveries pass it explicitly.
    """
    if timestamp is None:
        timestamp = int(time.time())
    return f"t={timestamp},{SCHEME}={_signature(secret, timestamp, body)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureVerificationError(
                "malformed_header", f"Signature header item {item.strip()!r} has no '='"
            )
        if key == "t":
            timestamps.append(value.strip())
        elif key == SCHEME:
            signatures.append(value.strip())
        # Other schemes (a future v2) are ignored so senders can add them first.
    if len(timestamps) != 1:
        raise SignatureVerificationError(
            "malformed_header",
            f"Signature header must carry exactly one t=, found {len(timestamps)}",
        )
    if not _TIMESTAMP_RE.fullmatch(timestamps[0]):
        raise SignatureVerificationError(
            "malformed_header",
            f"Signature header timestamp {timestamps[0][:20]!r} is not unix seconds",
        )
    if not signatures:
        raise SignatureVerificationError(
            "malformed_header", f"Signature header has no {SCHEME}= signature"
        )
    return int(timestamps[0]), signatures


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check ``header`` against ``body`` and return the signed timestamp.

    Raises ``SignatureVerificationError`` whose ``reason`` is ``missing_header``,
    ``malformed_header``, ``bad_signature`` or ``stale_timestamp``. The signature is
    checked before the timestamp so that ``stale_timestamp`` only ever describes an
    authentic delivery that arrived too late (or from a sender whose clock is off by
    more than ``tolerance`` seconds either way); a forged header is always reported as
    ``bad_signature``. Every candidate is compared in constant time.
    """
    if header is None or not header.strip():
        raise SignatureVerificationError(
            "missing_header", f"The {HEADER_NAME} header is missing"
        )
    timestamp, candidates = _parse_header(header)

    expected = _signature(secret, timestamp, body).encode("ascii")
    matched = False
    for candidate in candidates:
        # Compare every candidate (no early exit) and as bytes: compare_digest refuses
        # non-ASCII str, and a hostile header may contain anything.
        if hmac.compare_digest(expected, candidate.lower().encode("utf-8")):
            matched = True
    if not matched:
        raise SignatureVerificationError(
            "bad_signature", "No v1 signature in the header matches the body"
        )

    current = time.time() if now is None else now
    age = current - timestamp
    if abs(age) > tolerance:
        when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
        raise SignatureVerificationError(
            "stale_timestamp",
            f"Signature timestamp {timestamp} is {when}, "
            f"outside the {tolerance} s tolerance",
        )
    return timestamp
