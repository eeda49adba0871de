"""Client of the public credit data provider's HTTP API.

The provider is the city's public credit information platform: it serves each
enterprise's records (tax, social insurance, court, ...) by USCC and accepts objections
to records an enterprise disputes. Ingestion and the objection workflow talk to it only
through this client, so the retry, idempotency and error rules live in one place:

* Only failures that may succeed on a second try are retried: connection errors,
  timeouts, 5xx and 429. Any other 4xx means our request is wrong and would be refused
  again, so it raises at once.
* Retries wait with exponential backoff and *full* jitter, so the many ingestion
  workers that failed together at an outage do not all come back at the same instant.
  A 429 ``Retry-After`` is obeyed instead, because the provider told us exactly when.
* Every logical call carries one ``X-Request-Id`` (the same on each retry) so both
  sides can trace it, and every write carries one ``Idempotency-Key`` (the same on each
  retry) so a POST retried after a lost answer is never applied twice: an objection
  filed twice would be reviewed twice by the credit office.
* Answers are checked against the documented shape; a 2xx we cannot understand raises
  ``MalformedResponse`` instead of letting wrong data into an enterprise's credit file.

The session is injectable: tests pass a recording session, and the sandbox mounts a
transport adapter for its ``sandbox://`` URLs on it.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from creditdata.exceptions import (
    AuthenticationError,
    EnterpriseNotActive,
    InvalidRequestError,
    LegalRepresentativeMismatch,
    MalformedResponse,
    NotFoundError,
    ProviderError,
    ProviderUnavailable,
    RateLimitedError,
    VerificationAlreadyUsed,
    VerificationCodeInvalid,
    VerificationError,
    VerificationExpired,
    VerificationLocked,
)

logger = logging.getLogger(__name__)

USER_AGENT = "xinyidai-provider-client/1"
# We never sleep longer than this on a Retry-After, whatever the provider says: a worker
# blocked for minutes is worse than failing with RateLimitedError and letting the
# caller reschedule with the provider's full delay (RateLimitedError.retry_after).
RETRY_AFTER_CAP = 60.0
# Provider error text quoted in our messages and logs is cut to this many characters:
# an HTML error page from a proxy would otherwise flood the logs.
ERROR_TEXT_LIMIT = 200
# 2 ** 62 already exceeds any sensible backoff_cap; a larger exponent could overflow.
_MAX_BACKOFF_EXPONENT = 62


def _segment(value: str, name: str) -> str:
    """Quote one URL path segment; an empty one would silently hit another endpoint."""
    if not value:
        raise ValueError(f"{name} must not be empty")
    return quote(value, safe="")


def _truncate(text: str) -> str:
    if len(text) <= ERROR_TEXT_LIMIT:
        return text
    return text[: ERROR_TEXT_LIMIT - 1] + "…"


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    Returns ``None`` when the header is absent or unusable, so the caller falls back to
    its jittered backoff instead of trusting garbage. A date in the past means "now".
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000" parses naive; HTTP-dates are always GMT.
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


#: 4xx error codes with a type of their own, so callers branch on the type.
_ERRORS_BY_CODE: dict[str, type[InvalidRequestError]] = {
    "legal_representative_mismatch": LegalRepresentativeMismatch,
    "enterprise_not_active": EnterpriseNotActive,
    "invalid_code": VerificationCodeInvalid,
    "verification_expired": VerificationExpired,
    "verification_already_used": VerificationAlreadyUsed,
    "verification_locked": VerificationLocked,
}


def _attempts_remaining(response: requests.Response) -> int | None:
    """``error.attempts_remaining`` of a verification error body, when it is sane."""
    try:
        payload = response.json()
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    value = error.get("attempts_remaining") if isinstance(error, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a zone (``2026-06-15T10:20:00Z``), else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _error_details(response: requests.Response) -> tuple[str | None, str | None]:
    """The provider's error message and code, from its documented error body.

    Error bodies are ``{"error": {"type", "code", "message"}}``; a proxy or a crashed
    provider may answer anything else, in which case its text is the best we have.
    """
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        message = error.get("message")
        code = error.get("code")
        message = _truncate(message) if isinstance(message, str) and message else None
        code = code if isinstance(code, str) and code else None
        if message or code:
            return message, code
    text = response.text.strip()
    return (_truncate(text) if text else None), None


@dataclass(frozen=True)
class _Answer:
    """A 2xx answer with its JSON body and what is needed to describe it in errors."""

    method: str
    path: str
    status: int
    request_id: str
    provider_request_id: str | None
    body: Any

    def malformed(self, detail: str) -> MalformedResponse:
        return MalformedResponse(
            f"Provider answered {self.status} on {self.method} {self.path} with {detail}",
            status=self.status,
            request_id=self.request_id,
            provider_request_id=self.provider_request_id,
        )


class ProviderClient:
    """Typed, retrying client of the credit data provider API.

    ``sleep`` and ``rng`` are injectable so tests check the backoff without waiting;
    ``session`` is injectable so tests and the sandbox can replace the transport.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url must not be empty")
        if not api_key:
            raise ValueError("api_key must not be empty")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if backoff_base < 0 or backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap must be >= 0")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()

    def __repr__(self) -> str:
        # The API key is deliberately absent: reprs end up in logs and tracebacks.
        return f"ProviderClient(base_url={self.base_url!r})"

    @classmethod
    def from_settings(cls, **overrides: Any) -> ProviderClient:
        """Build the client from ``CREDIT_PROVIDER_*`` settings.

        ``overrides`` go to the constructor as is (e.g. ``session=`` with the sandbox
        adapter mounted). A missing URL or key is a deployment error, reported as such
        rather than as a confusing connection failure at the first call.
        """
        base_url = getattr(settings, "CREDIT_PROVIDER_URL", "")
        api_key = getattr(settings, "CREDIT_PROVIDER_API_KEY", "")
        if not base_url or not api_key:
            raise ImproperlyConfigured(
                "CREDIT_PROVIDER_URL and CREDIT_PROVIDER_API_KEY must both be set to "
                "call the credit data provider"
            )
        options: dict[str, Any] = {
            "connect_timeout": float(
                getattr(settings, "CREDIT_PROVIDER_CONNECT_TIMEOUT", 3.05)
            ),
            "read_timeout": float(
                getattr(settings, "CREDIT_PROVIDER_READ_TIMEOUT", 10)
            ),
            "max_retries": int(getattr(settings, "CREDIT_PROVIDER_MAX_RETRIES", 3)),
        }
        options.update(overrides)
        return cls(base_url, api_key, **options)

    def close(self) -> None:
        """Close the session if this client created it (an injected one is the caller's)."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- API -------------------------------------------------------------------------

    def get_enterprise(self, uscc: str) -> dict[str, Any]:
        """The provider's registration profile of one enterprise, by its USCC."""
        answer = self._request("GET", f"/enterprises/{_segment(uscc, 'uscc')}")
        if not isinstance(answer.body, dict) or "uscc" not in answer.body:
            raise answer.malformed("an enterprise body without 'uscc'")
        return answer.body

    def iter_records(
        self, uscc: str, category: str, *, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every record of one category of an enterprise, in the provider's order.

        Pages are fetched lazily, one when the previous one is used up, so a caller that
        stops early (or ingests page by page) never downloads what it does not need.
        Arguments are checked here, at call time, not at the first ``next()``.
        """
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        path = (
            f"/enterprises/{_segment(uscc, 'uscc')}"
            f"/records/{_segment(category, 'category')}"
        )
        return self._iter_pages(path, page_size)

    def list_records(
        self, uscc: str, category: str, page_size: int = 100
    ) -> list[dict[str, Any]]:
        """All records of one category of an enterprise, every page fetched."""
        return list(self.iter_records(uscc, category, page_size=page_size))

    def create_objection(
        self,
        *,
        uscc: str,
        category: str,
        record_id: str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """File an enterprise's objection to one of its records with the provider.

        Pass ``idempotency_key`` (e.g. derived from our objection's primary key) so that
        re-running a task after a crash cannot file the same objection twice; without
        it, one key is generated and reused by every retry of this call only.
        """
        answer = self._request(
            "POST",
            "/objections",
            json_body={
                "uscc": uscc,
                "category": category,
                "record_id": record_id,
                "reason": reason,
            },
            idempotency_key=idempotency_key,
        )
        if answer.status not in (200, 201):
            raise answer.malformed("an unexpected status for a created objection")
        if not isinstance(answer.body, dict) or "id" not in answer.body:
            raise answer.malformed("an objection body without 'id'")
        return answer.body

    def create_verification(
        self,
        *,
        uscc: str,
        legal_representative: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Start a real-name verification: the provider checks that
        ``legal_representative`` is the one registered for ``uscc`` and sends a
        6-digit code to the registry's contact for the enterprise.

        Returns ``id``, ``masked_contact`` and ``expires_at`` (parsed to an aware
        ``datetime``). Raises ``LegalRepresentativeMismatch``, ``EnterpriseNotActive``
        or ``NotFoundError`` (unknown USCC); a retry reuses the idempotency key, so a
        lost answer never sends a second code.
        """
        answer = self._request(
            "POST",
            "/verifications",
            json_body={"uscc": uscc, "legal_representative": legal_representative},
            idempotency_key=idempotency_key,
        )
        body = answer.body
        if answer.status not in (200, 201) or not isinstance(body, dict):
            raise answer.malformed("an unexpected answer for a started verification")
        for name in ("id", "masked_contact"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise answer.malformed(f"a verification without '{name}'")
        expires_at = _parse_datetime(body.get("expires_at"))
        if expires_at is None:
            raise answer.malformed("a verification without a valid 'expires_at'")
        return {**body, "expires_at": expires_at}

    def confirm_verification(
        self,
        verification_id: str,
        *,
        code: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Confirm a verification with the code its recipient received.

        Returns the body (``status`` is ``verified``) or raises a
        ``VerificationError``: ``VerificationCodeInvalid`` (with
        ``attempts_remaining``), ``VerificationExpired``, ``VerificationAlreadyUsed``
        or ``VerificationLocked``; ``NotFoundError`` for an unknown id. The key makes a
        retried attempt count once.
        """
        answer = self._request(
            "POST",
            f"/verifications/{_segment(verification_id, 'verification_id')}/confirm",
            json_body={"code": code},
            idempotency_key=idempotency_key,
        )
        body = answer.body
        if answer.status != 200 or not isinstance(body, dict):
            raise answer.malformed("an unexpected answer for a confirmed verification")
        if body.get("status") != "verified":
            raise answer.malformed("a confirmation whose status is not 'verified'")
        return body

    # --- Internals -------------------------------------------------------------------

    def _iter_pages(self, path: str, page_size: int) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params: dict[str, str | int] = {"limit": page_size}
            if cursor is not None:
                params["cursor"] = cursor
            answer = self._request("GET", path, params=params)
            body = answer.body
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise answer.malformed("a page without a 'data' list")
            # next_cursor must be present: were it renamed, treating "absent" as "last
            # page" would silently ingest only the first page of an enterprise's file.
            if "next_cursor" not in body:
                raise answer.malformed("a page without 'next_cursor'")
            next_cursor = body["next_cursor"]
            if next_cursor is not None and not isinstance(next_cursor, str):
                raise answer.malformed("a 'next_cursor' that is neither text nor null")
            records = body["data"]
            # Check the whole page before yielding any of it, so a broken page is not
            # half ingested.
            if not all(isinstance(record, dict) for record in records):
                raise answer.malformed("a 'data' item that is not an object")
            yield from records
            if next_cursor is None:
                return
            if next_cursor in seen:
                raise answer.malformed(f"a 'next_cursor' seen before ({next_cursor!r})")
            seen.add(next_cursor)
            cursor = next_cursor

    def _backoff(self, retry: int) -> float:
        """Full-jitter delay before retry number ``retry`` (0 for the first retry)."""
        ceiling = self.backoff_base * 2 ** min(retry, _MAX_BACKOFF_EXPONENT)
        return self._rng.uniform(0, min(self.backoff_cap, ceiling))

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        json_body: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> _Answer:
        """One logical call: attempts, retries and the mapping of failures to errors."""
        request_id = uuid.uuid4().hex
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "X-Request-Id": request_id,
        }
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        url = self.base_url + path
        attempts = self.max_retries + 1

        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=(self.connect_timeout, self.read_timeout),
                    # A redirected POST becomes a GET in requests; the API never
                    # redirects, so a 3xx is reported rather than followed.
                    allow_redirects=False,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                logger.warning(
                    "Provider %s %s failed: %s (attempt %d/%d, request_id=%s)",
                    method,
                    path,
                    type(exc).__name__,
                    attempt,
                    attempts,
                    request_id,
                )
                if last:
                    raise ProviderUnavailable(
                        f"Could not reach the provider on {method} {path} after "
                        f"{_attempts(attempts)}: {type(exc).__name__}",
                        request_id=request_id,
                    ) from exc
                self._wait(self._backoff(attempt - 1), method, path, request_id)
                continue
            except requests.RequestException as exc:
                # Not a transient network failure (bad URL, too many redirects, ...):
                # retrying cannot help, but callers still only need ProviderError.
                raise ProviderError(
                    f"Request {method} {path} to the provider failed: "
                    f"{type(exc).__name__}: {exc}",
                    request_id=request_id,
                ) from exc

            status = response.status_code
            provider_request_id = response.headers.get("X-Request-Id")
            if 200 <= status < 300:
                logger.info(
                    "Provider %s %s answered %d (attempt %d/%d, request_id=%s, "
                    "provider_request_id=%s)",
                    method,
                    path,
                    status,
                    attempt,
                    attempts,
                    request_id,
                    provider_request_id,
                )
                try:
                    body = response.json()
                except ValueError as exc:
                    raise MalformedResponse(
                        f"Provider answered {status} on {method} {path} with a body "
                        f"that is not JSON",
                        status=status,
                        request_id=request_id,
                        provider_request_id=provider_request_id,
                    ) from exc
                return _Answer(
                    method, path, status, request_id, provider_request_id, body
                )

            logger.warning(
                "Provider %s %s answered %d (attempt %d/%d, request_id=%s, "
                "provider_request_id=%s)",
                method,
                path,
                status,
                attempt,
                attempts,
                request_id,
                provider_request_id,
            )
            retryable = status == 429 or status >= 500
            if not retryable or last:
                raise self._error(
                    response, method, path, request_id, attempt, retryable
                )
            delay = None
            if status == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None:
                    delay = min(retry_after, RETRY_AFTER_CAP)
            if delay is None:
                delay = self._backoff(attempt - 1)
            self._wait(delay, method, path, request_id)

        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _wait(self, delay: float, method: str, path: str, request_id: str) -> None:
        logger.info(
            "Provider %s %s: retrying in %.2f s (request_id=%s)",
            method,
            path,
            delay,
            request_id,
        )
        self._sleep(delay)

    def _error(
        self,
        response: requests.Response,
        method: str,
        path: str,
        request_id: str,
        attempt: int,
        exhausted: bool,
    ) -> ProviderError:
        """The typed error for a non-2xx answer we will not (or no longer) retry."""
        status = response.status_code
        provider_message, code = _error_details(response)
        message = f"Provider answered {status} on {method} {path}"
        if exhausted:
            message += f" after {_attempts(attempt)}"
        elif attempt > 1:
            message += f" on attempt {attempt}"
        if provider_message:
            message += f": {provider_message}"
        if code:
            message += f" (code {code})"
        common: dict[str, Any] = {
            "status": status,
            "request_id": request_id,
            "code": code,
            "provider_message": provider_message,
            "provider_request_id": response.headers.get("X-Request-Id"),
        }
        if status in (401, 403):
            return AuthenticationError(message, **common)
        if status == 404:
            return NotFoundError(message, **common)
        if status == 429:
            return RateLimitedError(
                message,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                **common,
            )
        if 400 <= status < 500:
            typed = _ERRORS_BY_CODE.get(code or "")
            if typed is not None and issubclass(typed, VerificationError):
                return typed(
                    message, attempts_remaining=_attempts_remaining(response), **common
                )
            if typed is not None:
                return typed(message, **common)
            return InvalidRequestError(message, **common)
        if status >= 500:
            return ProviderUnavailable(message, **common)
        # 1xx/3xx: not part of the API at all.
        return ProviderError(message, **common)
