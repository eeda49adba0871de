"""The provider client: retry policy, errors, headers, pagination, idempotency.

HTTP is mocked with ``responses``; ``sleep`` records the delays instead of waiting, and
``rng`` is seeded so the jittered delays are reproducible.
"""

from __future__ import annotations

import json
import logging
import pickle
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses
from django.core.exceptions import ImproperlyConfigured
from responses import matchers

from creditdata.client import ProviderClient, parse_retry_after
from creditdata.exceptions import (
    AuthenticationError,
    InvalidRequestError,
    MalformedResponse,
    NotFoundError,
    ProviderError,
    ProviderUnavailable,
    RateLimitedError,
)

BASE = "https://provider.example/v1"
API_KEY = "sk_test_provider_9f8e7d"
USCC = "91440300MA5FYQ8N1Y"
ENTERPRISE_URL = f"{BASE}/enterprises/{USCC}"
RECORDS_URL = f"{BASE}/enterprises/{USCC}/records/tax"
OBJECTIONS_URL = f"{BASE}/objections"
ENTERPRISE = {"uscc": USCC, "name": "深圳市示例科技有限公司"}


class RecordingSession(requests.Session):
    """A real session (so ``responses`` still intercepts) that records request kwargs."""

    def __init__(self) -> None:
        super().__init__()
        self.kwargs: list[dict] = []
        self.closed = 0

    def request(self, method, url, **kwargs):
        self.kwargs.append(kwargs)
        return super().request(method, url, **kwargs)

    def close(self) -> None:
        self.closed += 1
        super().close()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_client(sleeps: list[float], **kwargs) -> ProviderClient:
    kwargs.setdefault("rng", random.Random(0))
    return ProviderClient(BASE + "/", API_KEY, sleep=sleeps.append, **kwargs)


def error_body(code: str, message: str, type_: str = "invalid_request") -> dict:
    return {"error": {"type": type_, "code": code, "message": message}}


# --- Retry policy ---------------------------------------------------------------------


def test_503_then_timeout_then_200_retries_twice_and_succeeds(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=503, json=error_body("down", "maintenance"))
    rsps.get(ENTERPRISE_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE)

    assert make_client(sleeps).get_enterprise(USCC) == ENTERPRISE

    assert len(rsps.calls) == 3
    assert all(call.request.url == ENTERPRISE_URL for call in rsps.calls)
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 * 2**0
    assert 0 <= sleeps[1] <= 0.5 * 2**1
    # Full jitter: uniform(0, min(cap, base * 2**n)) drawn from the injected rng.
    expected = random.Random(0)
    assert sleeps == [expected.uniform(0, 0.5), expected.uniform(0, 1.0)]


def test_backoff_is_capped(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=502)
    client = make_client(sleeps, max_retries=6, backoff_base=1.0, backoff_cap=3.0)
    with pytest.raises(ProviderUnavailable):
        client.get_enterprise(USCC)
    expected = random.Random(0)
    bounds = [1.0, 2.0, 3.0, 3.0, 3.0, 3.0]
    assert sleeps == [expected.uniform(0, bound) for bound in bounds]


def test_400_is_not_retried_and_carries_message_and_code(rsps, sleeps):
    rsps.get(
        RECORDS_URL,
        status=400,
        json=error_body("unknown_category", "Unknown category 'tax'"),
        headers={"X-Request-Id": "prov-req-1"},
    )
    with pytest.raises(InvalidRequestError) as excinfo:
        make_client(sleeps).list_records(USCC, "tax")

    assert len(rsps.calls) == 1
    assert sleeps == []
    error = excinfo.value
    assert error.status == 400
    assert error.code == "unknown_category"
    assert error.provider_message == "Unknown category 'tax'"
    assert "Unknown category 'tax'" in error.message
    assert "400" in str(error)
    assert f"GET /enterprises/{USCC}/records/tax" in str(error)
    assert error.provider_request_id == "prov-req-1"
    assert error.request_id == rsps.calls[0].request.headers["X-Request-Id"]


@pytest.mark.parametrize("status", [409, 422])
def test_other_4xx_are_invalid_requests(rsps, sleeps, status):
    rsps.post(OBJECTIONS_URL, status=status, json=error_body("conflict", "no"))
    with pytest.raises(InvalidRequestError):
        make_client(sleeps).create_objection(
            uscc=USCC, category="tax", record_id="r1", reason="wrong"
        )
    assert len(rsps.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_is_not_retried(rsps, sleeps, status):
    rsps.get(ENTERPRISE_URL, status=status, json=error_body("bad_key", "Invalid key"))
    with pytest.raises(AuthenticationError) as excinfo:
        make_client(sleeps).get_enterprise(USCC)
    assert type(excinfo.value) is AuthenticationError
    assert excinfo.value.status == status
    assert len(rsps.calls) == 1
    assert sleeps == []


def test_404_is_not_found_and_not_retried(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=404, json=error_body("no_such", "Unknown USCC"))
    with pytest.raises(NotFoundError) as excinfo:
        make_client(sleeps).get_enterprise(USCC)
    assert type(excinfo.value) is NotFoundError
    assert excinfo.value.code == "no_such"
    assert len(rsps.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize("max_retries", [0, 3])
def test_503_forever_exhausts_retries(rsps, sleeps, max_retries):
    rsps.get(ENTERPRISE_URL, status=503, body="Service Unavailable")
    with pytest.raises(ProviderUnavailable) as excinfo:
        make_client(sleeps, max_retries=max_retries).get_enterprise(USCC)

    assert len(rsps.calls) == max_retries + 1
    assert len(sleeps) == max_retries
    error = excinfo.value
    assert error.status == 503
    attempts = max_retries + 1
    noun = "attempt" if attempts == 1 else "attempts"
    assert str(error) == (
        f"Provider answered 503 on GET /enterprises/{USCC} after {attempts} {noun}: "
        "Service Unavailable"
    )


def test_connection_error_every_time_exhausts_retries(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(ProviderUnavailable) as excinfo:
        make_client(sleeps, max_retries=3).get_enterprise(USCC)

    assert len(rsps.calls) == 4
    assert len(sleeps) == 3
    assert excinfo.value.status is None
    assert isinstance(excinfo.value.__cause__, requests.exceptions.ConnectionError)
    assert "after 4 attempts" in str(excinfo.value)


def test_connect_timeout_is_retried(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, body=requests.exceptions.ConnectTimeout("slow"))
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE)
    assert make_client(sleeps).get_enterprise(USCC) == ENTERPRISE
    assert len(rsps.calls) == 2
    assert len(sleeps) == 1


def test_non_network_request_exception_is_a_provider_error_not_retried(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, body=requests.exceptions.TooManyRedirects("loop"))
    with pytest.raises(ProviderError) as excinfo:
        make_client(sleeps).get_enterprise(USCC)
    assert type(excinfo.value) is ProviderError
    assert len(rsps.calls) == 1
    assert sleeps == []


def test_429_with_retry_after_sleeps_exactly_that(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=429, headers={"Retry-After": "7"})
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE)
    assert make_client(sleeps).get_enterprise(USCC) == ENTERPRISE
    assert len(rsps.calls) == 2
    assert sleeps == [7.0]


def test_429_retry_after_float_and_cap(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=429, headers={"Retry-After": "1.5"})
    rsps.get(ENTERPRISE_URL, status=429, headers={"Retry-After": "3600"})
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE)
    assert make_client(sleeps).get_enterprise(USCC) == ENTERPRISE
    assert len(rsps.calls) == 3
    assert sleeps == [1.5, 60.0]


def test_429_retry_after_http_date(rsps, sleeps):
    far = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    rsps.get(ENTERPRISE_URL, status=429, headers={"Retry-After": far})
    rsps.get(ENTERPRISE_URL, status=429, headers={"Retry-After": past})
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE)
    assert make_client(sleeps).get_enterprise(USCC) == ENTERPRISE
    assert sleeps == [60.0, 0.0]


def test_429_without_retry_after_uses_jittered_backoff(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=429)
    rsps.get(ENTERPRISE_URL, status=429, headers={"Retry-After": "soon"})
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE)
    assert make_client(sleeps).get_enterprise(USCC) == ENTERPRISE
    expected = random.Random(0)
    assert sleeps == [expected.uniform(0, 0.5), expected.uniform(0, 1.0)]


def test_429_forever_is_rate_limited_with_retry_after(rsps, sleeps):
    rsps.get(
        ENTERPRISE_URL,
        status=429,
        headers={"Retry-After": "120"},
        json=error_body("rate_limited", "Slow down", "rate_limit"),
    )
    with pytest.raises(RateLimitedError) as excinfo:
        make_client(sleeps, max_retries=2).get_enterprise(USCC)

    assert len(rsps.calls) == 3
    assert sleeps == [60.0, 60.0]
    error = excinfo.value
    assert error.retry_after == 120.0
    assert error.status == 429
    assert error.code == "rate_limited"
    assert "after 3 attempts" in str(error)


def test_429_forever_without_retry_after(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=429)
    with pytest.raises(RateLimitedError) as excinfo:
        make_client(sleeps, max_retries=1).get_enterprise(USCC)
    assert len(rsps.calls) == 2
    assert excinfo.value.retry_after is None


def test_4xx_after_a_retry_is_raised_at_once(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=500)
    rsps.get(ENTERPRISE_URL, status=404, json=error_body("no_such", "gone"))
    with pytest.raises(NotFoundError) as excinfo:
        make_client(sleeps).get_enterprise(USCC)
    assert len(rsps.calls) == 2
    assert len(sleeps) == 1
    assert "on attempt 2" in str(excinfo.value)


def test_non_json_error_body_is_truncated_text(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=400, body="<html>" + "x" * 500 + "</html>")
    with pytest.raises(InvalidRequestError) as excinfo:
        make_client(sleeps).get_enterprise(USCC)
    error = excinfo.value
    assert error.code is None
    assert len(error.provider_message) == 200
    assert error.provider_message == "<html>" + "x" * 193 + "…"


def test_redirects_are_not_followed(rsps, sleeps):
    rsps.post(OBJECTIONS_URL, status=302, headers={"Location": f"{BASE}/elsewhere"})
    with pytest.raises(ProviderError) as excinfo:
        make_client(sleeps).create_objection(
            uscc=USCC, category="tax", record_id="r1", reason="wrong"
        )
    assert type(excinfo.value) is ProviderError
    assert len(rsps.calls) == 1


# --- Headers, ids, timeouts, logging --------------------------------------------------


def test_same_request_id_on_every_retry_and_a_new_one_per_call(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=500)
    rsps.get(ENTERPRISE_URL, status=502)
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE)
    client = make_client(sleeps)
    client.get_enterprise(USCC)
    client.get_enterprise(USCC)

    assert len(rsps.calls) == 4
    ids = [call.request.headers["X-Request-Id"] for call in rsps.calls]
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] != ids[0]
    assert all(len(value) == 32 and int(value, 16) >= 0 for value in ids)


def test_standard_headers_and_explicit_timeout(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, status=503)
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE)
    session = RecordingSession()
    client = make_client(sleeps, session=session, connect_timeout=1.5, read_timeout=7)
    client.get_enterprise(USCC)

    assert len(rsps.calls) == 2
    for call in rsps.calls:
        headers = call.request.headers
        assert headers["Authorization"] == f"Bearer {API_KEY}"
        assert headers["Accept"] == "application/json"
        assert headers["User-Agent"] == "xinyidai-provider-client/1"
        assert "Idempotency-Key" not in headers
    assert [kwargs["timeout"] for kwargs in session.kwargs] == [(1.5, 7), (1.5, 7)]


def test_default_timeout_tuple(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE)
    session = RecordingSession()
    make_client(sleeps, session=session).get_enterprise(USCC)
    assert [kwargs["timeout"] for kwargs in session.kwargs] == [(3.05, 10.0)]


def test_path_segments_are_quoted(rsps, sleeps):
    rsps.get(
        f"{BASE}/enterprises/a%2Fb%3Fc/records/x%20y",
        json={"data": [], "next_cursor": None},
    )
    assert make_client(sleeps).list_records("a/b?c", "x y") == []
    assert len(rsps.calls) == 1


def test_empty_segments_are_refused(rsps, sleeps):
    client = make_client(sleeps)
    with pytest.raises(ValueError):
        client.get_enterprise("")
    with pytest.raises(ValueError):
        client.iter_records(USCC, "")
    assert len(rsps.calls) == 0


def test_attempts_are_logged_without_the_api_key(rsps, sleeps, caplog):
    caplog.set_level(logging.INFO, logger="creditdata.client")
    rsps.get(ENTERPRISE_URL, status=503, headers={"X-Request-Id": "prov-503"})
    rsps.get(ENTERPRISE_URL, json=ENTERPRISE, headers={"X-Request-Id": "prov-200"})
    make_client(sleeps).get_enterprise(USCC)

    our_id = rsps.calls[0].request.headers["X-Request-Id"]
    records = [r for r in caplog.records if r.name == "creditdata.client"]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert len(warnings) == 1
    assert "503" in warnings[0] and "attempt 1/4" in warnings[0]
    assert our_id in warnings[0] and "prov-503" in warnings[0]
    assert any("200" in m and "attempt 2/4" in m and "prov-200" in m for m in infos)
    assert all(API_KEY not in r.getMessage() for r in caplog.records)
    assert API_KEY not in repr(make_client(sleeps))


# --- Responses that are not the documented shape --------------------------------------


def test_malformed_json_on_200_is_not_retried(rsps, sleeps):
    rsps.get(ENTERPRISE_URL, body="{not json", content_type="application/json")
    with pytest.raises(MalformedResponse) as excinfo:
        make_client(sleeps).get_enterprise(USCC)
    assert len(rsps.calls) == 1
    assert sleeps == []
    assert excinfo.value.status == 200
    assert "not JSON" in str(excinfo.value)


@pytest.mark.parametrize("body", [[ENTERPRISE], {"name": "no uscc"}, "text"])
def test_enterprise_without_uscc_is_malformed(rsps, sleeps, body):
    rsps.get(ENTERPRISE_URL, json=body)
    with pytest.raises(MalformedResponse):
        make_client(sleeps).get_enterprise(USCC)
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    "page",
    [
        {"next_cursor": None},
        {"data": {"id": "r1"}, "next_cursor": None},
        {"data": [], "next_cursor": 42},
        {"data": []},
        {"data": ["r1"], "next_cursor": None},
        [],
    ],
)
def test_page_not_of_the_documented_shape_is_malformed(rsps, sleeps, page):
    rsps.get(RECORDS_URL, json=page)
    with pytest.raises(MalformedResponse):
        make_client(sleeps).list_records(USCC, "tax")
    assert len(rsps.calls) == 1
    assert sleeps == []


def test_objection_without_id_is_malformed(rsps, sleeps):
    rsps.post(OBJECTIONS_URL, status=201, json={"status": "received"})
    with pytest.raises(MalformedResponse):
        make_client(sleeps).create_objection(
            uscc=USCC, category="tax", record_id="r1", reason="wrong"
        )
    assert len(rsps.calls) == 1


# --- Pagination ----------------------------------------------------------------------


def _register_three_pages(rsps) -> None:
    rsps.get(
        RECORDS_URL,
        match=[matchers.query_param_matcher({"limit": "2"})],
        json={"data": [{"id": "r1"}, {"id": "r2"}], "next_cursor": "c2"},
    )
    rsps.get(
        RECORDS_URL,
        match=[matchers.query_param_matcher({"limit": "2", "cursor": "c2"})],
        json={"data": [{"id": "r3"}, {"id": "r4"}], "next_cursor": "c3"},
    )
    rsps.get(
        RECORDS_URL,
        match=[matchers.query_param_matcher({"limit": "2", "cursor": "c3"})],
        json={"data": [{"id": "r5"}], "next_cursor": None},
    )


def test_pagination_follows_the_cursor_chain(rsps, sleeps):
    _register_three_pages(rsps)
    records = make_client(sleeps).list_records(USCC, "tax", page_size=2)

    assert [record["id"] for record in records] == ["r1", "r2", "r3", "r4", "r5"]
    assert len(rsps.calls) == 3
    urls = [call.request.url for call in rsps.calls]
    assert urls == [
        f"{RECORDS_URL}?limit=2",
        f"{RECORDS_URL}?limit=2&cursor=c2",
        f"{RECORDS_URL}?limit=2&cursor=c3",
    ]
    assert "cursor=" not in urls[0]
    assert "cursor=c2" in urls[1]


def test_pagination_is_lazy(rsps, sleeps):
    rsps.assert_all_requests_are_fired = False
    _register_three_pages(rsps)
    records = make_client(sleeps).iter_records(USCC, "tax", page_size=2)
    assert len(rsps.calls) == 0

    assert next(records) == {"id": "r1"}
    assert len(rsps.calls) == 1
    assert next(records) == {"id": "r2"}
    assert len(rsps.calls) == 1
    assert next(records) == {"id": "r3"}
    assert len(rsps.calls) == 2


def test_default_page_size_and_empty_result(rsps, sleeps):
    rsps.get(
        RECORDS_URL,
        match=[matchers.query_param_matcher({"limit": "100"})],
        json={"data": [], "next_cursor": None},
    )
    assert make_client(sleeps).list_records(USCC, "tax") == []
    assert len(rsps.calls) == 1


def test_page_is_retried_with_its_cursor(rsps, sleeps):
    rsps.get(
        RECORDS_URL,
        match=[matchers.query_param_matcher({"limit": "1"})],
        json={"data": [{"id": "r1"}], "next_cursor": "c2"},
    )
    rsps.get(
        RECORDS_URL,
        match=[matchers.query_param_matcher({"limit": "1", "cursor": "c2"})],
        status=503,
    )
    rsps.get(
        RECORDS_URL,
        match=[matchers.query_param_matcher({"limit": "1", "cursor": "c2"})],
        json={"data": [{"id": "r2"}], "next_cursor": None},
    )
    records = make_client(sleeps).list_records(USCC, "tax", page_size=1)
    assert records == [{"id": "r1"}, {"id": "r2"}]
    assert len(rsps.calls) == 3
    assert len(sleeps) == 1


def test_repeated_cursor_is_malformed_instead_of_looping(rsps, sleeps):
    rsps.get(RECORDS_URL, json={"data": [{"id": "r1"}], "next_cursor": "same"})
    with pytest.raises(MalformedResponse):
        make_client(sleeps).list_records(USCC, "tax")
    assert len(rsps.calls) == 2


def test_invalid_page_size_is_refused_at_call_time(rsps, sleeps):
    with pytest.raises(ValueError):
        make_client(sleeps).iter_records(USCC, "tax", page_size=0)
    assert len(rsps.calls) == 0


# --- Writes and idempotency ----------------------------------------------------------


def test_post_retry_reuses_the_idempotency_key(rsps, sleeps):
    payload = {"uscc": USCC, "category": "tax", "record_id": "r9", "reason": "paid"}
    rsps.post(OBJECTIONS_URL, status=500, match=[matchers.json_params_matcher(payload)])
    rsps.post(
        OBJECTIONS_URL,
        status=201,
        json={"id": "obj_1", "status": "received"},
        match=[matchers.json_params_matcher(payload)],
    )
    client = make_client(sleeps)
    created = client.create_objection(
        uscc=USCC, category="tax", record_id="r9", reason="paid"
    )

    assert created == {"id": "obj_1", "status": "received"}
    assert len(rsps.calls) == 2
    keys = [call.request.headers["Idempotency-Key"] for call in rsps.calls]
    assert keys[0] == keys[1]
    assert len(keys[0]) == 32
    assert len(sleeps) == 1
    assert json.loads(rsps.calls[1].request.body) == payload


def test_each_logical_post_gets_its_own_key(rsps, sleeps):
    rsps.post(OBJECTIONS_URL, status=200, json={"id": "obj_1"})
    client = make_client(sleeps)
    for _ in range(2):
        client.create_objection(uscc=USCC, category="tax", record_id="r", reason="x")
    keys = [call.request.headers["Idempotency-Key"] for call in rsps.calls]
    assert len(keys) == 2
    assert keys[0] != keys[1]


def test_caller_supplied_idempotency_key_is_used_as_is(rsps, sleeps):
    rsps.post(OBJECTIONS_URL, status=503)
    rsps.post(OBJECTIONS_URL, status=201, json={"id": "obj_2"})
    make_client(sleeps).create_objection(
        uscc=USCC,
        category="court",
        record_id="r1",
        reason="settled",
        idempotency_key="objection-42",
    )
    assert len(rsps.calls) == 2
    assert [c.request.headers["Idempotency-Key"] for c in rsps.calls] == [
        "objection-42",
        "objection-42",
    ]


# --- Real-name verification ----------------------------------------------------------

VERIFICATIONS_URL = f"{BASE}/verifications"
VERIFICATION_ID = "ver_" + "a1" * 12
CONFIRM_URL = f"{VERIFICATIONS_URL}/{VERIFICATION_ID}/confirm"
STARTED = {
    "id": VERIFICATION_ID,
    "uscc": USCC,
    "status": "pending",
    "channel": "sms",
    "masked_contact": "138****0123",
    "expires_at": "2026-06-15T02:10:00Z",
    "attempts_remaining": 5,
}


def verification_error(code: str, status_type: str = "verification_error", **extra):
    body = error_body(code, f"refused: {code}", status_type)
    body["error"].update(extra)
    return body


def test_create_verification_posts_the_legal_representative_once(rsps, sleeps):
    payload = {"uscc": USCC, "legal_representative": "陈明"}
    rsps.post(VERIFICATIONS_URL, status=502)
    rsps.post(
        VERIFICATIONS_URL,
        status=201,
        json=STARTED,
        match=[matchers.json_params_matcher(payload)],
    )
    started = make_client(sleeps).create_verification(
        uscc=USCC, legal_representative="陈明"
    )
    assert started["id"] == VERIFICATION_ID
    assert started["masked_contact"] == "138****0123"
    assert started["expires_at"] == datetime(2026, 6, 15, 2, 10, tzinfo=UTC)
    keys = {call.request.headers["Idempotency-Key"] for call in rsps.calls}
    assert len(rsps.calls) == 2 and len(keys) == 1  # a retry sends no second code


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "legal_representative_mismatch", "LegalRepresentativeMismatch"),
        (409, "enterprise_not_active", "EnterpriseNotActive"),
        (404, "enterprise_not_found", "NotFoundError"),
        (400, "missing_field", "InvalidRequestError"),
    ],
)
def test_create_verification_refusals_are_typed(rsps, sleeps, status, code, expected):
    from creditdata import exceptions

    rsps.post(VERIFICATIONS_URL, status=status, json=verification_error(code))
    with pytest.raises(ProviderError) as excinfo:
        make_client(sleeps).create_verification(uscc=USCC, legal_representative="x")
    assert type(excinfo.value) is getattr(exceptions, expected)
    assert excinfo.value.code == code
    assert len(rsps.calls) == 1  # never retried


@pytest.mark.parametrize(
    "body",
    [
        {**STARTED, "expires_at": "tomorrow"},
        {**STARTED, "expires_at": "2026-06-15T02:10:00"},  # no zone
        {k: v for k, v in STARTED.items() if k != "masked_contact"},
        {k: v for k, v in STARTED.items() if k != "id"},
    ],
)
def test_verification_without_id_contact_or_expiry_is_malformed(rsps, sleeps, body):
    rsps.post(VERIFICATIONS_URL, status=201, json=body)
    with pytest.raises(MalformedResponse):
        make_client(sleeps).create_verification(uscc=USCC, legal_representative="x")


def test_confirm_verification_sends_the_code(rsps, sleeps):
    rsps.post(
        CONFIRM_URL,
        json={"id": VERIFICATION_ID, "uscc": USCC, "status": "verified"},
        match=[matchers.json_params_matcher({"code": "123456"})],
    )
    confirmed = make_client(sleeps).confirm_verification(
        VERIFICATION_ID, code="123456", idempotency_key="attempt-1"
    )
    assert confirmed["status"] == "verified"
    assert rsps.calls[0].request.headers["Idempotency-Key"] == "attempt-1"


@pytest.mark.parametrize(
    ("status", "code", "expected", "remaining"),
    [
        (400, "invalid_code", "VerificationCodeInvalid", 3),
        (410, "verification_expired", "VerificationExpired", None),
        (409, "verification_already_used", "VerificationAlreadyUsed", None),
        (409, "verification_locked", "VerificationLocked", 0),
    ],
)
def test_confirm_verification_errors_are_typed(
    rsps, sleeps, status, code, expected, remaining
):
    from creditdata import exceptions

    extra = {"attempts_remaining": remaining} if remaining is not None else {}
    rsps.post(CONFIRM_URL, status=status, json=verification_error(code, **extra))
    with pytest.raises(exceptions.VerificationError) as excinfo:
        make_client(sleeps).confirm_verification(VERIFICATION_ID, code="123456")
    assert type(excinfo.value) is getattr(exceptions, expected)
    assert isinstance(excinfo.value, InvalidRequestError)
    assert excinfo.value.attempts_remaining == remaining
    assert excinfo.value.status == status
    assert len(rsps.calls) == 1
    # Celery may pickle it: the count survives.
    clone = pickle.loads(pickle.dumps(excinfo.value))  # noqa: S301 - our own object
    assert clone.attempts_remaining == remaining


def test_unknown_verification_is_not_found(rsps, sleeps):
    rsps.post(
        CONFIRM_URL,
        status=404,
        json=verification_error("verification_not_found", "not_found"),
    )
    with pytest.raises(NotFoundError):
        make_client(sleeps).confirm_verification(VERIFICATION_ID, code="123456")


def test_confirmation_that_is_not_verified_is_malformed(rsps, sleeps):
    rsps.post(CONFIRM_URL, json={"id": VERIFICATION_ID, "status": "pending"})
    with pytest.raises(MalformedResponse):
        make_client(sleeps).confirm_verification(VERIFICATION_ID, code="123456")


def test_empty_verification_id_is_refused_before_any_request(rsps, sleeps):
    with pytest.raises(ValueError, match="verification_id"):
        make_client(sleeps).confirm_verification("", code="123456")
    assert len(rsps.calls) == 0


# --- Construction --------------------------------------------------------------------


def test_from_settings(settings, rsps, sleeps):
    settings.CREDIT_PROVIDER_URL = BASE + "/"
    settings.CREDIT_PROVIDER_API_KEY = API_KEY
    settings.CREDIT_PROVIDER_READ_TIMEOUT = 4
    settings.CREDIT_PROVIDER_MAX_RETRIES = 1
    session = RecordingSession()
    client = ProviderClient.from_settings(session=session, sleep=sleeps.append)

    assert client.base_url == BASE
    assert client.max_retries == 1
    rsps.get(ENTERPRISE_URL, status=503)
    with pytest.raises(ProviderUnavailable):
        client.get_enterprise(USCC)
    assert len(rsps.calls) == 2
    assert session.kwargs[0]["timeout"] == (3.05, 4.0)


def test_from_settings_without_url_or_key(settings):
    settings.CREDIT_PROVIDER_URL = ""
    settings.CREDIT_PROVIDER_API_KEY = API_KEY
    with pytest.raises(ImproperlyConfigured):
        ProviderClient.from_settings()


@pytest.mark.parametrize(
    "kwargs",
    [{"max_retries": -1}, {"connect_timeout": 0}, {"read_timeout": -1}],
)
def test_invalid_configuration_is_refused(kwargs):
    with pytest.raises(ValueError):
        ProviderClient(BASE, API_KEY, **kwargs)


def test_injected_session_is_not_closed():
    session = RecordingSession()
    with ProviderClient(BASE, API_KEY, session=session) as client:
        assert client.session is session
    assert session.closed == 0  # closing an injected session is its owner's business


def test_provider_error_survives_pickling():
    error = RateLimitedError("slow down", retry_after=3.0, status=429, code="rl")
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert type(clone) is RateLimitedError
    assert (clone.message, clone.retry_after, clone.status, clone.code) == (
        "slow down",
        3.0,
        429,
        "rl",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("7", 7.0), ("0.25", 0.25), ("-3", 0.0), ("nan", None)],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected
