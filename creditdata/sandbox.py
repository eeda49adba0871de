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

Real-name verification (``/verifications``): the provider "sends" a 6-digit code to the
mobile number its registry holds for the legal representative. The sandbox sends
nothing: it keeps each message in an *outbox* (Django's cache) that the demo shows at
``/sandbox/provider/outbox/``, so a tester can read the code. Challenges live in the
cache too, with atomic counters (``add`` / ``incr``) so that two concurrent wrong codes
both count and a right code is accepted once only.
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
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from borrowers.uscc import validate_uscc
from creditdata.categories import RECORD_FIELDS
from creditdata.synthetic import firm_profile, records_for, registered_contact

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
_VERIFICATIONS_PATH = "/verifications"
_VERIFICATION_FIELDS = ("uscc", "legal_representative")
_CONFIRM_RE = re.compile(r"/verifications/(?P<verification_id>[^/]+)/confirm")
_VERIFICATION_ID_RE = re.compile(r"ver_[0-9a-f]{24}")
_CODE_RE = re.compile(r"[0-9]{6}")
#: A code is valid this long, and this many wrong codes lock its challenge.
VERIFICATION_TTL = 10 * 60
VERIFICATION_MAX_ATTEMPTS = 5
# A challenge is remembered a day, so a late confirmation is told "expired", not
# "unknown"; the outbox keeps the latest messages only.
VERIFICATION_RECORD_TTL = 24 * 60 * 60
OUTBOX_SIZE = 50
MAX_NAME_LENGTH = 100
_VERIFICATION_PREFIX = "creditdata:sandbox:verification:"
_OUTBOX_PREFIX = "creditdata:sandbox:outbox:"


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
        extra: dict[str, Any] | None = None,
        replayable: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.extra = extra or {}
        # An outcome of the operation itself (a wrong code), stored under the
        # Idempotency-Key like a success: a retry must not count as a second attempt.
        self.replayable = replayable

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "type": self.error_type,
            "code": self.code,
            "message": self.message,
        }
        if self.param is not None:
            error["param"] = self.param
        error.update(self.extra)
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


class _Replay(Exception):
    """The stored answer to an earlier request with the same Idempotency-Key."""

    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload


def _json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 ``invalid_json``."""
    try:
        payload = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        raise _invalid("invalid_json", "The request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise _invalid("invalid_json", "The request body must be a JSON object")
    return payload


def _string_fields(body: bytes, names: tuple[str, ...]) -> dict[str, str]:
    """Exactly ``names``, each a non-empty string, or a 400 naming the first wrong one."""
    payload = _json_object(body)
    for name in payload:
        if name not in names:
            raise _invalid("unknown_field", f"Unknown field {name!r}", str(name)[:100])
    for name in names:
        value = payload.get(name)
        if value is None or value == "":
            raise _invalid("missing_field", f"{name} is required", name)
        if not isinstance(value, str):
            raise _invalid("invalid_field", f"{name} must be a string", name)
    return {name: payload[name] for name in names}


def _objection_fields(body: bytes) -> dict[str, str]:
    """The validated objection, or a 400 naming the first field that is wrong."""
    payload = _string_fields(body, _OBJECTION_FIELDS)
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
    return payload


def _idempotency_key(headers: dict[str, str], operation: str) -> str:
    key = headers.get("idempotency-key", "").strip()
    if not key:
        raise _invalid(
            "idempotency_key_required",
            f"{operation} requires an Idempotency-Key header",
            "Idempotency-Key",
        )
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise _invalid(
            "invalid_idempotency_key",
            f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
            "Idempotency-Key",
        )
    return key


def _replay(previous: dict[str, Any], fingerprint: str) -> Exception:
    """What to raise for a key seen before: its stored answer, or a 409 when the key
    came with another request."""
    if previous["fingerprint"] != fingerprint:
        return _ApiError(
            409,
            "idempotency_error",
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request "
            "body; use a new key for a new request",
            param="Idempotency-Key",
        )
    return _Replay(previous["status"], previous["body"])


def _idempotent(
    headers: dict[str, str],
    key: str,
    operation: str,
    fields: dict[str, str],
    perform: Callable[[], tuple[int, Any]],
) -> tuple[int, Any]:
    """Run ``perform`` once per Idempotency-Key: a retry gets the stored answer.

    Keys are per API key, like the provider's, and hashed so any text is a safe cache
    key. The stored answer is a success or a ``replayable`` error (the outcome of the
    operation itself); a request refused before ``perform`` stores nothing.
    """
    scope = headers.get("authorization", "")
    cache_key = _CACHE_PREFIX + hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
    fingerprint = hashlib.sha256(
        json.dumps(
            {"operation": operation, **fields}, sort_keys=True, ensure_ascii=False
        ).encode()
    ).hexdigest()
    previous = cache.get(cache_key)
    if previous is not None:
        raise _replay(previous, fingerprint)
    failure: _ApiError | None = None
    try:
        status, payload = perform()
    except _ApiError as error:
        if not error.replayable:
            raise
        failure, status, payload = error, error.status, error.payload()
    stored = {"fingerprint": fingerprint, "status": status, "body": payload}
    # add() is atomic: of two concurrent first requests only one stores its answer,
    # and the other replays it (or is refused) like any later retry.
    if not cache.add(cache_key, stored, IDEMPOTENCY_TTL):
        previous = cache.get(cache_key)
        if previous is not None:
            raise _replay(previous, fingerprint)
        cache.set(cache_key, stored, IDEMPOTENCY_TTL)  # expired in between
    if failure is not None:
        raise failure
    return status, payload


def _create_objection(
    query: dict[str, str], headers: dict[str, str], body: bytes
) -> tuple[int, Any]:
    key = _idempotency_key(headers, f"POST {_OBJECTIONS_PATH}")
    fields = _objection_fields(body)

    def perform() -> tuple[int, Any]:
        return 201, {
            "id": f"obj_{secrets.token_hex(12)}",
            "status": "received",
            "created": int(time.time()),
            **fields,
        }

    return _idempotent(headers, key, _OBJECTIONS_PATH, fields, perform)


# --- Real-name verification ----------------------------------------------------------


def _now() -> dt.datetime:
    """The sandbox's clock (one place, so tests can move it)."""
    return timezone.now()


def _normalized_name(text: str) -> str:
    """A name as the registry compares it: NFKC (full-width letters and brackets become
    half-width), runs of white space as one, case folded."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def mask_contact(number: str) -> str:
    """``13812340123`` → ``138****0123``: enough for the owner to recognise it."""
    return number[:3] + "****" + number[-4:]


def verification_code(verification_id: str) -> str:
    """The 6-digit code of a challenge: an HMAC of its id with the deployment's secret.

    Fixed per challenge (the outbox shows it, a test recomputes it) and not derivable
    from the id without the key."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(),
        f"verification|{verification_id}".encode(),
        hashlib.sha256,
    ).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def _isoformat(timestamp: float) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def _outbox_append(message: dict[str, Any]) -> None:
    """Keep one "sent" message: numbered by an atomic counter, each in its own key, so
    concurrent sends never overwrite each other."""
    cache.add(_OUTBOX_PREFIX + "sequence", 0, None)
    number = cache.incr(_OUTBOX_PREFIX + "sequence")
    cache.set(f"{_OUTBOX_PREFIX}{number}", message, VERIFICATION_RECORD_TTL)


def outbox_messages(limit: int = OUTBOX_SIZE) -> list[dict[str, Any]]:
    """The latest messages the sandbox "sent", newest first (for the demo's outbox)."""
    last = cache.get(_OUTBOX_PREFIX + "sequence") or 0
    numbers = range(last, max(last - limit, 0), -1)
    found = cache.get_many([f"{_OUTBOX_PREFIX}{number}" for number in numbers])
    return [
        found[f"{_OUTBOX_PREFIX}{number}"]
        for number in numbers
        if f"{_OUTBOX_PREFIX}{number}" in found
    ]


def _verification_fields(body: bytes) -> dict[str, str]:
    payload = _string_fields(body, _VERIFICATION_FIELDS)
    _checked_uscc(payload["uscc"])
    if len(payload["legal_representative"]) > MAX_NAME_LENGTH:
        raise _invalid(
            "invalid_field",
            f"legal_representative is longer than {MAX_NAME_LENGTH} characters",
            "legal_representative",
        )
    return payload


def _start_verification(uscc: str, legal_representative: str) -> tuple[int, Any]:
    """Check the named legal representative against the registry, then "send" a code
    to the registered contact. The registry's own values are never in an answer."""
    today = timezone.localdate()
    if today < firm_profile(uscc).founded_on:
        raise _ApiError(
            404,
            "not_found",
            "enterprise_not_found",
            f"No enterprise {uscc} is registered on {today.isoformat()}",
        )
    (registration,) = records_for(uscc, "registration", today)
    if registration["status"] != "active":
        raise _ApiError(
            409,
            "verification_error",
            "enterprise_not_active",
            f"Enterprise {uscc} is not active in the registry; it cannot be verified",
            replayable=True,
        )
    if _normalized_name(legal_representative) != _normalized_name(
        registration["legal_representative"]
    ):
        raise _ApiError(
            400,
            "verification_error",
            "legal_representative_mismatch",
            "legal_representative is not the legal representative registered for "
            "this enterprise",
            param="legal_representative",
            replayable=True,
        )
    verification_id = f"ver_{secrets.token_hex(12)}"
    now = _now()
    expires_at = now.timestamp() + VERIFICATION_TTL
    contact = registered_contact(uscc)
    code = verification_code(verification_id)
    cache.set(
        _VERIFICATION_PREFIX + verification_id,
        {"uscc": uscc, "expires_at": expires_at},
        VERIFICATION_RECORD_TTL,
    )
    _outbox_append(
        {
            "verification_id": verification_id,
            "uscc": uscc,
            "enterprise_name": registration["name"],
            "to": contact,
            "code": code,
            "text": f"【信用深圳】{registration['name']}企业实名认证验证码：{code}，"
            f"{VERIFICATION_TTL // 60}分钟内有效。如非本人操作，请忽略。",
            "sent_at": now.timestamp(),
            "expires_at": expires_at,
        }
    )
    return 201, {
        "id": verification_id,
        "uscc": uscc,
        "status": "pending",
        "channel": "sms",
        "masked_contact": mask_contact(contact),
        "expires_at": _isoformat(expires_at),
        "attempts_remaining": VERIFICATION_MAX_ATTEMPTS,
    }


def _create_verification(
    query: dict[str, str], headers: dict[str, str], body: bytes
) -> tuple[int, Any]:
    key = _idempotency_key(headers, f"POST {_VERIFICATIONS_PATH}")
    fields = _verification_fields(body)
    return _idempotent(
        headers,
        key,
        _VERIFICATIONS_PATH,
        fields,
        lambda: _start_verification(**fields),
    )


def _verification_error(
    status: int, code: str, message: str, **extra: Any
) -> _ApiError:
    return _ApiError(
        status, "verification_error", code, message, extra=extra, replayable=True
    )


def _check_code(verification_id: str, code: str) -> tuple[int, Any]:
    """One confirmation attempt. Used, locked and expired are checked before the code,
    so none of them can be probed with guesses."""
    record = (
        cache.get(_VERIFICATION_PREFIX + verification_id)
        if _VERIFICATION_ID_RE.fullmatch(verification_id)
        else None
    )
    if record is None:
        raise _ApiError(
            404,
            "not_found",
            "verification_not_found",
            f"No verification {verification_id[:40]!r}",
        )
    used_key = f"{_VERIFICATION_PREFIX}{verification_id}:used"
    failures_key = f"{_VERIFICATION_PREFIX}{verification_id}:failures"
    if cache.get(used_key):
        raise _verification_error(
            409,
            "verification_already_used",
            "This verification was already confirmed; its code cannot be used again",
        )
    if (cache.get(failures_key) or 0) >= VERIFICATION_MAX_ATTEMPTS:
        raise _verification_error(
            409,
            "verification_locked",
            "Too many wrong codes: this verification is locked; start a new one",
            attempts_remaining=0,
        )
    if _now().timestamp() >= record["expires_at"]:
        raise _verification_error(
            410,
            "verification_expired",
            "The code has expired; start a new verification",
        )
    if not hmac.compare_digest(code, verification_code(verification_id)):
        cache.add(failures_key, 0, VERIFICATION_RECORD_TTL)
        remaining = max(VERIFICATION_MAX_ATTEMPTS - cache.incr(failures_key), 0)
        if remaining == 0:
            raise _verification_error(
                409,
                "verification_locked",
                "Wrong code, and no attempts are left: this verification is locked",
                attempts_remaining=0,
            )
        raise _verification_error(
            400,
            "invalid_code",
            f"Wrong code; {remaining} attempts left",
            attempts_remaining=remaining,
        )
    # add() is atomic: of two concurrent right answers only one confirms.
    if not cache.add(used_key, True, VERIFICATION_RECORD_TTL):
        raise _verification_error(
            409,
            "verification_already_used",
            "This verification was already confirmed; its code cannot be used again",
        )
    return 200, {
        "id": verification_id,
        "uscc": record["uscc"],
        "status": "verified",
        "verified_at": _isoformat(_now().timestamp()),
    }


def _confirm_verification(
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
    *,
    verification_id: str,
) -> tuple[int, Any]:
    key = _idempotency_key(headers, f"POST {_VERIFICATIONS_PATH}/{{id}}/confirm")
    fields = _string_fields(body, ("code",))
    if not _CODE_RE.fullmatch(fields["code"]):
        raise _invalid("invalid_field", "code must be 6 digits", "code")
    return _idempotent(
        headers,
        key,
        f"{_VERIFICATIONS_PATH}/{verification_id}/confirm",
        fields,
        lambda: _check_code(verification_id, fields["code"]),
    )


_Handler = Callable[..., tuple[int, Any]]


def _route(method: str, path: str) -> tuple[_Handler, dict[str, str]]:
    """The handler for a path and method, or a 404 / 405 error."""
    routes: list[tuple[re.Pattern[str] | str, dict[str, _Handler]]] = [
        (_RECORDS_RE, {"GET": _list_records}),
        (_ENTERPRISE_RE, {"GET": _get_enterprise}),
        (_OBJECTIONS_PATH, {"POST": _create_objection}),
        (_VERIFICATIONS_PATH, {"POST": _create_verification}),
        (_CONFIRM_RE, {"POST": _confirm_verification}),
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
