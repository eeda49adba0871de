"""The sandbox credit-data provider: the provider API as one pure function.

``handle`` takes a request as plain values and returns a ``SandboxResponse``, with no
framework in between, so the very same behaviour is served over HTTP by
``sandbox_views.sandbox_api`` (for people and tools pointing at
``/sandbox/provider/v1/``) and called in-process by ``transport.SandboxAdapter`` (for
the platform itself when ``CREDIT_PROVIDER_URL`` is ``sandbox://provider/v1``). The
API is the one documented in ``provider_openapi.yaml``; its data comes from
``synthetic``, so every valid USCC exists and always has the same records.

Sandbox-only: the ``as_of=YYYY-MM-DD`` query parameter on the GET endpoints, so tests
can pin "today". Objections are only acknowledged; the idempotency records live in
Django's cache for 24 hours, like the provider keeps them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from borrowers.uscc import validate_uscc
from creditdata.categories import RECORD_FIELDS
from creditdata.synthetic import firm_profile, records_for

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
IDEMPOTENCY_TTL = 24 * 60 * 60
MAX_REASON_LENGTH = 1000
MAX_RECORD_ID_LENGTH = 100
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_CACHE_PREFIX = "creditdata:sandbox:idempotency:"
# A client request id is echoed in a response header: only plain tokens, so a hostile
# value cannot inject headers or flood logs.
_CLIENT_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_CURSOR_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_ENTERPRISE_RE = re.compile(r"/enterprises/(?P<uscc>[^/]+)")
_RECORDS_RE = re.compile(r"/enterprises/(?P<uscc>[^/]+)/records/(?P<category>[^/]+)")
_OBJECTIONS_PATH = "/objections"
_OBJECTION_FIELDS = ("uscc", "category", "record_id", "reason")


@dataclass
class SandboxResponse:
    """An HTTP response as plain values: status, headers and a JSON body (bytes)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The decoded body (for tests and in-process callers)."""
        return json.loads(self.body)


class _ApiError(Exception):
    """An error answer, raised anywhere in a handler and rendered by ``handle``."""

    def __init__(
        self,
        status: int,
        error_type: str,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "type": self.error_type,
            "code": self.code,
            "message": self.message,
        }
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def _invalid(code: str, message: str, param: str | None = None) -> _ApiError:
    return _ApiError(400, "invalid_request", code, message, param=param)


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


# --- Cursors ------------------------------------------------------------------------------


def encode_cursor(offset: int) -> str:
    """The opaque cursor of a page starting at ``offset`` (URL-safe base64, unpadded)."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset in a cursor; ``ValueError`` for anything we did not issue.

    Strict (alphabet, and re-encoding must give the same text) because a lenient
    decoder would accept mangled cursors and silently restart or skip pages.
    """
    if not _CURSOR_RE.fullmatch(cursor):
        raise ValueError("not URL-safe base64")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not base64") from None
    if not text.isascii() or not text.isdigit() or encode_cursor(int(text)) != cursor:
        raise ValueError("not an offset")
    return int(text)


# --- Request helpers -----------------------------------------------------------------


def _as_of(query: dict[str, str]) -> dt.date:
    raw = query.get("as_of")
    if raw is None:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise _invalid(
            "invalid_as_of", f"as_of {raw!r} is not a YYYY-MM-DD date", "as_of"
        ) from None


def _checked_uscc(uscc: str, param: str = "uscc") -> str:
    try:
        validate_uscc(uscc)
    except ValidationError as exc:
        raise _invalid("invalid_uscc", " ".join(exc.messages), param) from None
    return uscc


def _checked_category(category: str, param: str = "category") -> str:
    if category not in RECORD_FIELDS:
        known = ", ".join(str(name) for name in RECORD_FIELDS)
        raise _invalid(
            "unknown_category",
            f"Unknown category {category!r}; expected one of: {known}",
            param,
        )
    return str(category)


def _limit(query: dict[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise _invalid(
            "invalid_limit",
            f"limit must be an integer from 1 to {MAX_LIMIT}, not {raw[:20]!r}",
            "limit",
        )
    return int(raw)


def _offset(query: dict[str, str]) -> int:
    raw = query.get("cursor")
    if raw is None:
        return 0
    try:
        return decode_cursor(raw)
    except ValueError:
        raise _invalid(
            "invalid_cursor",
            "cursor is not one returned as next_cursor by this endpoint",
            "cursor",
        ) from None


# --- Endpoints ------------------------------------------------------------------------


def _get_enterprise(
    query: dict[str, str], headers: dict[str, str], body: bytes, *, uscc: str
) -> tuple[int, Any]:
    uscc = _checked_uscc(uscc)
    as_of = _as_of(query)
    profile = firm_profile(uscc)
    if as_of < profile.founded_on:
        raise _ApiError(
            404,
            "not_found",
            "enterprise_not_found",
            f"No enterprise {uscc} was registered on {as_of.isoformat()}",
        )
    (registration,) = records_for(uscc, "registration", as_of)
    enterprise = {"uscc": uscc}
    for name in (
        "name",
        "legal_representative",
        "registered_capital",
        "founded_on",
        "industry",
        "district",
        "status",
        "address",
    ):
        enterprise[name] = registration[name]
    return 200, enterprise


def _list_records(
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    *,
    uscc: str,
    category: str,
) -> tuple[int, Any]:
    uscc = _checked_uscc(uscc)
    category = _checked_category(category)
    limit = _limit(query)
    offset = _offset(query)
    records = records_for(uscc, category, _as_of(query))
    page = records[offset : offset + limit]
    end = offset + len(page)
    next_cursor = encode_cursor(end) if end < len(records) else None
    return 200, {"data": page, "next_cursor": next_cursor}


def _objection_fields(body: bytes) -> dict[str, str]:
    """The validated objection, or a 400 naming the first field that is wrong."""
    try:
        payload = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        raise _invalid("invalid_json", "The request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise _invalid("invalid_json", "The request body must be a JSON object")
    for name in payload:
        if name not in _OBJECTION_FIELDS:
            raise _invalid("unknown_field", f"Unknown field {name!r}", str(name)[:100])
    for name in _OBJECTION_FIELDS:
        value = payload.get(name)
        if value is None or value == "":
            raise _invalid("missing_field", f"{name} is required", name)
        if not isinstance(value, str):
            raise _invalid("invalid_field", f"{name} must be a string", name)
    _checked_uscc(payload["uscc"])
    _checked_category(payload["category"])
    if len(payload["record_id"]) > MAX_RECORD_ID_LENGTH:
        raise _invalid(
            "invalid_field",
            f"record_id is longer than {MAX_RECORD_ID_LENGTH} characters",
            "record_id",
        )
    if not payload["reason"].strip() or len(payload["reason"]) > MAX_REASON_LENGTH:
        raise _invalid(
            "invalid_field",
            f"reason must be 1 to {MAX_REASON_LENGTH} characters of text",
            "reason",
        )
    return {name: payload[name] for name in _OBJECTION_FIELDS}


def _create_objection(
    query: dict[str, str], headers: dict[str, str], body: bytes
) -> tuple[int, Any]:
    key = headers.get("idempotency-key", "").strip()
    if not key:
        raise _invalid(
            "idempotency_key_required",
            "POST /objections requires an Idempotency-Key header",
            "Idempotency-Key",
        )
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise _invalid(
            "invalid_idempotency_key",
            f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
            "Idempotency-Key",
        )
    fields = _objection_fields(body)
    # Keys are per API key, like the provider's; hashed so any text is a safe cache key.
    scope = headers.get("authorization", "")
    cache_key = _CACHE_PREFIX + hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
    fingerprint = hashlib.sha256(
        json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    objection = {
        "id": f"obj_{secrets.token_hex(12)}",
        "status": "received",
        "created": int(time.time()),
        **fields,
    }
    stored = {"fingerprint": fingerprint, "status": 201, "body": objection}
    # add() is atomic: of two concurrent first requests only one stores its answer,
    # and the other replays it (or is refused) like any later retry.
    if not cache.add(cache_key, stored, IDEMPOTENCY_TTL):
        previous = cache.get(cache_key)
        if previous is not None:
            if previous["fingerprint"] != fingerprint:
                raise _ApiError(
                    409,
                    "idempotency_error",
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used with a different request "
                    "body; use a new key for a new objection",
                    param="Idempotency-Key",
                )
            raise _Replay(previous["status"], previous["body"])
        cache.set(cache_key, stored, IDEMPOTENCY_TTL)  # expired in between
    return 201, objection


class _Replay(Exception):
    """The stored answer to an earlier request with the same Idempotency-Key."""

    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload


_Handler = Callable[..., tuple[int, Any]]


def _route(method: str, path: str) -> tuple[_Handler, dict[str, str]]:
    """The handler for a path and method, or a 404 / 405 error."""
    routes: list[tuple[re.Pattern[str] | str, dict[str, _Handler]]] = [
        (_RECORDS_RE, {"GET": _list_records}),
        (_ENTERPRISE_RE, {"GET": _get_enterprise}),
        (_OBJECTIONS_PATH, {"POST": _create_objection}),
    ]
    for pattern, methods in routes:
        match: dict[str, str] | None
        if isinstance(pattern, str):
            match = {} if path == pattern else None
        else:
            found = pattern.fullmatch(path)
            match = found.groupdict() if found else None
        if match is None:
            continue
        handler = methods.get(method.upper())
        if handler is None:
            allowed = ", ".join(methods)
            raise _ApiError(
                405,
                "invalid_request",
                "method_not_allowed",
                f"{method.upper()} is not allowed on {path}; use {allowed}",
                headers={"Allow": allowed},
            )
        return handler, match
    raise _ApiError(404, "not_found", "unknown_path", f"No endpoint at {path[:200]}")


def _authenticated(headers: dict[str, str]) -> bool:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    expected = str(getattr(settings, "CREDIT_PROVIDER_API_KEY", "") or "")
    if scheme.lower() != "bearer" or not expected:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def _response_headers(lowered: dict[str, str]) -> dict[str, str]:
    """Headers of every response: JSON, a new provider request id, the client's id."""
    response_headers = {
        "Content-Type": "application/json",
        "X-Request-Id": f"req_{secrets.token_hex(12)}",
    }
    client_request_id = lowered.get("x-request-id", "")
    if _CLIENT_REQUEST_ID_RE.fullmatch(client_request_id):
        response_headers["X-Client-Request-Id"] = client_request_id
    return response_headers


def not_found(path: str, headers: dict[str, str]) -> SandboxResponse:
    """The API's 404 for a path outside it (e.g. without the ``/v1`` prefix)."""
    lowered = {str(name).lower(): str(value) for name, value in headers.items()}
    error = _ApiError(404, "not_found", "unknown_path", f"No endpoint at {path[:200]}")
    return SandboxResponse(
        404, _response_headers(lowered), _json_bytes(error.payload())
    )


def handle(
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
) -> SandboxResponse:
    """Answer one provider API request.

    ``path`` is relative to the API root (``/enterprises/...``, no ``/v1``); header
    names are matched case-insensitively, as HTTP requires. Never raises: an
    unexpected failure is a logged 500, as a real server would answer.
    """
    lowered = {str(name).lower(): str(value) for name, value in headers.items()}
    response_headers = _response_headers(lowered)
    try:
        if not _authenticated(lowered):
            raise _ApiError(
                401,
                "authentication",
                "invalid_api_key",
                "Missing or invalid API key: send Authorization: Bearer <api key>",
                headers={"WWW-Authenticate": 'Bearer realm="provider"'},
            )
        handler, arguments = _route(method, path)
        status, payload = handler(query, lowered, body or b"", **arguments)
    except _Replay as replay:
        status, payload = replay.status, replay.payload
        response_headers["Idempotent-Replayed"] = "true"
    except _ApiError as error:
        status, payload = error.status, error.payload()
        response_headers.update(error.headers)
    except Exception:
        logger.exception("Sandbox provider failed on %s %s", method, path[:200])
        status = 500
        payload = {
            "error": {
                "type": "api_error",
                "code": "internal_error",
                "message": "The sandbox provider failed; retry later",
            }
        }
    return SandboxResponse(status, response_headers, _json_bytes(payload))
