"""The sandbox provider API: ``sandbox.handle``, the in-process adapter and the view.

Most tests call ``handle`` directly (it is a pure function); the adapter and the view
are then checked to be faithful wrappers of it. ``as_of`` pins "today" so the data is
deterministic. The cache is locmem and cleared per test by tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.test import override_settings
from django.urls import include, path, reverse
from django.utils import timezone

from borrowers.uscc import validate_uscc
from creditdata.client import ProviderClient
from creditdata.sandbox import SandboxResponse, decode_cursor, encode_cursor, handle
from creditdata.synthetic import firm_profile, records_for, synthetic_uscc
from creditdata.transport import SandboxAdapter, SandboxSession


def _plain_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # The site's 404 page links to Wagtail URLs this small URLconf does not have.
    return HttpResponseNotFound("not found", content_type="text/plain")


# This module is its own URLconf for the view tests (config.urls is not ours to edit).
urlpatterns = [path("sandbox/provider/", include("creditdata.sandbox_urls"))]
handler404 = _plain_not_found

API_KEY = "sk_sandbox_public_demo_key"
USCC = synthetic_uscc(12)
AS_OF = "2026-06-15"
AS_OF_DATE = dt.date(2026, 6, 15)
OBJECTION = {
    "uscc": USCC,
    "category": "tax",
    "record_id": f"tax-{USCC}-202601",
    "reason": "该月税款已按期缴纳，记录有误。",
}


@pytest.fixture(autouse=True)
def _api_key(settings):
    settings.CREDIT_PROVIDER_API_KEY = API_KEY
    settings.CREDIT_SANDBOX_ENABLED = True


def call(
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    auth: bool = True,
) -> SandboxResponse:
    sent = {"Authorization": f"Bearer {API_KEY}"} if auth else {}
    sent.update(headers or {})
    return handle(method, path, query or {}, sent, body)


def post_objection(payload: dict, key: str | None = "objection-1") -> SandboxResponse:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return call(
        "POST", "/objections", headers=headers, body=json.dumps(payload).encode()
    )


def error_code(response: SandboxResponse) -> str:
    return response.json()["error"]["code"]


# --- Authentication and common headers -----------------------------------------------


def test_missing_key_is_401():
    response = call("GET", f"/enterprises/{USCC}", auth=False)
    assert response.status == 401
    assert response.json()["error"]["type"] == "authentication"
    assert error_code(response) == "invalid_api_key"


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {API_KEY}x", "Bearer ", API_KEY, f"Basic {API_KEY}", "Bearer sk_other"],
)
def test_wrong_key_is_401(authorization):
    response = call(
        "GET",
        f"/enterprises/{USCC}",
        headers={"Authorization": authorization},
        auth=False,
    )
    assert response.status == 401
    assert error_code(response) == "invalid_api_key"


def test_header_names_are_case_insensitive():
    response = handle(
        "GET",
        f"/enterprises/{USCC}",
        {"as_of": AS_OF},
        {"AUTHORIZATION": f"bearer {API_KEY}", "x-request-id": "client-1"},
        b"",
    )
    assert response.status == 200
    assert response.headers["X-Client-Request-Id"] == "client-1"


def test_key_comes_from_settings(settings):
    settings.CREDIT_PROVIDER_API_KEY = "sk_rotated"
    assert call("GET", f"/enterprises/{USCC}").status == 401
    response = call(
        "GET",
        f"/enterprises/{USCC}",
        headers={"Authorization": "Bearer sk_rotated"},
        auth=False,
    )
    assert response.status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/enterprises/{USCC}"),
        ("GET", "/enterprises/123"),
        ("GET", "/nowhere"),
        ("POST", "/objections"),
    ],
)
def test_every_response_is_json_with_a_new_request_id(method, path):
    first = call(method, path)
    second = call(method, path)
    for response in (first, second):
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["X-Request-Id"].startswith("req_")
        assert "X-Client-Request-Id" not in response.headers
        response.json()
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


def test_client_request_id_is_echoed_only_when_sane():
    echoed = call("GET", "/nowhere", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Client-Request-Id"] == "abc-123"
    hostile = call("GET", "/nowhere", headers={"X-Request-Id": "a\r\nSet-Cookie: x"})
    assert "X-Client-Request-Id" not in hostile.headers


# --- Enterprises ---------------------------------------------------------------------


def test_enterprise_lookup():
    response = call("GET", f"/enterprises/{USCC}", {"as_of": AS_OF})
    assert response.status == 200
    body = response.json()
    profile = firm_profile(USCC)
    assert set(body) == {
        "uscc",
        "name",
        "legal_representative",
        "registered_capital",
        "founded_on",
        "industry",
        "district",
        "status",
        "address",
    }
    assert body["uscc"] == USCC
    assert body["name"] == profile.name
    assert body["legal_representative"] == profile.legal_representative
    assert body["registered_capital"] == f"{profile.registered_capital}.00"
    assert body["founded_on"] == profile.founded_on.isoformat()
    assert body["industry"] == profile.industry
    assert body["district"] == profile.district
    assert body["status"] == "active"
    assert body["address"] == profile.address


def test_enterprise_defaults_to_today():
    assert call("GET", f"/enterprises/{USCC}").status == 200


@pytest.mark.parametrize(
    "bad", ["123", USCC[:-1] + ("0" if USCC[-1] != "0" else "1"), USCC.lower()]
)
def test_invalid_uscc_is_400_with_the_validation_message(bad):
    response = call("GET", f"/enterprises/{bad}")
    assert response.status == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request"
    assert error["code"] == "invalid_uscc"
    with pytest.raises(ValidationError) as exc_info:
        validate_uscc(bad)
    assert error["message"] == " ".join(exc_info.value.messages)


def test_enterprise_not_yet_registered_is_404():
    response = call("GET", f"/enterprises/{USCC}", {"as_of": "1990-01-01"})
    assert response.status == 404
    assert error_code(response) == "enterprise_not_found"


# --- Records -------------------------------------------------------------------------


def walk(category: str, limit: int, uscc: str = USCC) -> tuple[list[dict], int]:
    records: list[dict] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": str(limit), "as_of": AS_OF}
        if cursor is not None:
            query["cursor"] = cursor
        response = call("GET", f"/enterprises/{uscc}/records/{category}", query)
        assert response.status == 200, response.body
        body = response.json()
        assert set(body) == {"data", "next_cursor"}
        assert len(body["data"]) <= limit
        records.extend(body["data"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return records, pages


@pytest.mark.parametrize("category", ["tax", "utilities", "administrative", "court"])
def test_pagination_walks_every_record_once(category):
    records, pages = walk(category, limit=7)
    expected = records_for(USCC, category, AS_OF_DATE)
    assert records == expected
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids))
    assert pages == max(1, -(-len(expected) // 7))


def test_default_page_is_100_and_500_is_the_maximum():
    query = {"as_of": AS_OF}
    page = call("GET", f"/enterprises/{USCC}/records/utilities", query).json()
    assert len(page["data"]) == 72 and page["next_cursor"] is None  # 36 months × 2
    big = walk("utilities", limit=500)[0]
    assert big == page["data"]


def test_empty_category_is_one_empty_page():
    uscc = next(
        synthetic_uscc(i)
        for i in range(100)
        if not firm_profile(synthetic_uscc(i)).trades_abroad
    )
    response = call("GET", f"/enterprises/{uscc}/records/customs", {"as_of": AS_OF})
    assert response.json() == {"data": [], "next_cursor": None}


def test_cursor_round_trip():
    for offset in (0, 7, 499, 123456):
        assert decode_cursor(encode_cursor(offset)) == offset


@pytest.mark.parametrize("cursor", ["!!!", "", "bm9wZQ", "LTE", "MDc", "a" * 40])
def test_bad_cursor_is_400(cursor):
    response = call(
        "GET", f"/enterprises/{USCC}/records/tax", {"cursor": cursor, "as_of": AS_OF}
    )
    assert response.status == 400
    assert error_code(response) == "invalid_cursor"
    assert response.json()["error"]["param"] == "cursor"


@pytest.mark.parametrize("limit", ["0", "501", "abc", "-1", "7.5", "", "١٠"])
def test_bad_limit_is_400(limit):
    response = call("GET", f"/enterprises/{USCC}/records/tax", {"limit": limit})
    assert response.status == 400
    assert error_code(response) == "invalid_limit"


def test_unknown_category_is_400():
    response = call("GET", f"/enterprises/{USCC}/records/weather")
    assert response.status == 400
    assert error_code(response) == "unknown_category"


def test_invalid_uscc_on_records_is_400():
    response = call("GET", "/enterprises/NOTAUSCC/records/tax")
    assert error_code(response) == "invalid_uscc"


def test_bad_as_of_is_400():
    response = call("GET", f"/enterprises/{USCC}/records/tax", {"as_of": "2026-13-01"})
    assert response.status == 400
    assert error_code(response) == "invalid_as_of"


# --- Objections ----------------------------------------------------------------------


def test_objection_is_created():
    response = post_objection(OBJECTION)
    assert response.status == 201
    body = response.json()
    assert body["id"].startswith("obj_")
    assert body["status"] == "received"
    assert {name: body[name] for name in OBJECTION} == OBJECTION
    assert "Idempotent-Replayed" not in response.headers


def test_same_key_and_body_replays_the_same_objection():
    first = post_objection(OBJECTION)
    # Same content, other key order and spacing: the same request.
    again = call(
        "POST",
        "/objections",
        headers={"idempotency-key": "objection-1"},
        body=json.dumps(dict(reversed(OBJECTION.items())), indent=2).encode(),
    )
    assert again.status == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]


def test_other_key_is_another_objection():
    first = post_objection(OBJECTION, key="objection-1")
    second = post_objection(OBJECTION, key="objection-2")
    assert first.json()["id"] != second.json()["id"]


def test_same_key_with_another_body_is_409():
    post_objection(OBJECTION)
    response = post_objection({**OBJECTION, "reason": "另一个理由"})
    assert response.status == 409
    assert error_code(response) == "idempotency_key_reused"


def test_idempotency_keys_are_scoped_to_the_api_key(settings):
    first = post_objection(OBJECTION).json()
    settings.CREDIT_PROVIDER_API_KEY = "sk_other_platform"
    other = call(
        "POST",
        "/objections",
        headers={
            "Authorization": "Bearer sk_other_platform",
            "Idempotency-Key": "objection-1",
        },
        body=json.dumps({**OBJECTION, "reason": "x"}).encode(),
        auth=False,
    )
    assert other.status == 201
    assert other.json()["id"] != first["id"]


@pytest.mark.parametrize("key", [None, "", "   "])
def test_objection_without_idempotency_key_is_400(key):
    response = post_objection(OBJECTION, key=key)
    assert response.status == 400
    assert error_code(response) == "idempotency_key_required"


@pytest.mark.parametrize(
    ("payload", "param", "code"),
    [
        (
            {k: v for k, v in OBJECTION.items() if k != "reason"},
            "reason",
            "missing_field",
        ),
        ({**OBJECTION, "record_id": ""}, "record_id", "missing_field"),
        ({**OBJECTION, "record_id": 12}, "record_id", "invalid_field"),
        ({**OBJECTION, "record_id": "x" * 101}, "record_id", "invalid_field"),
        ({**OBJECTION, "reason": "x" * 1001}, "reason", "invalid_field"),
        ({**OBJECTION, "uscc": "91440300708461136U"}, "uscc", "invalid_uscc"),
        ({**OBJECTION, "category": "weather"}, "category", "unknown_category"),
        ({**OBJECTION, "priority": "high"}, "priority", "unknown_field"),
    ],
)
def test_invalid_objection_names_the_field(payload, param, code):
    response = post_objection(payload)
    assert response.status == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert param in error["message"] or code in {"invalid_uscc", "unknown_category"}


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b"\xff\xfe"])
def test_objection_body_must_be_a_json_object(body):
    response = call("POST", "/objections", headers={"Idempotency-Key": "k"}, body=body)
    assert response.status == 400
    assert error_code(response) == "invalid_json"


def test_refused_objection_does_not_burn_the_key():
    assert post_objection({**OBJECTION, "category": "weather"}).status == 400
    assert post_objection(OBJECTION).status == 201


# --- Routing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/nowhere",
        f"/enterprises/{USCC}/",
        f"/enterprises/{USCC}/records",
        "/v1/objections",
    ],
)
def test_unknown_path_is_404(path):
    response = call("GET", path)
    assert response.status == 404
    assert response.json()["error"]["type"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", f"/enterprises/{USCC}", "GET"),
        ("DELETE", f"/enterprises/{USCC}/records/tax", "GET"),
        ("GET", "/objections", "POST"),
        ("PUT", "/objections", "POST"),
    ],
)
def test_wrong_method_is_405(method, path, allowed):
    response = call(method, path)
    assert response.status == 405
    assert response.headers["Allow"] == allowed
    assert error_code(response) == "method_not_allowed"


def test_unexpected_failure_is_a_json_500(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("creditdata.sandbox.records_for", broken)
    response = call("GET", f"/enterprises/{USCC}/records/tax")
    assert response.status == 500
    assert error_code(response) == "internal_error"
    assert "boom" not in response.body.decode()


# --- The in-process requests adapter -------------------------------------------------


@pytest.fixture
def session():
    """A plain session with the adapter mounted, as the brief of the adapter says."""
    with requests.Session() as session:
        session.mount("sandbox://", SandboxAdapter())
        yield session


def test_adapter_serves_the_enterprise(session):
    url = f"sandbox://provider/v1/enterprises/{USCC}?as_of={AS_OF}"
    response = session.get(
        url,
        headers={"Authorization": f"Bearer {API_KEY}", "X-Request-Id": "trace-1"},
        timeout=(3.05, 10),
    )
    assert isinstance(response, requests.Response)
    assert response.status_code == 200
    assert response.ok and response.reason == "OK"
    assert response.json()["uscc"] == USCC
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["X-Client-Request-Id"] == "trace-1"
    assert response.encoding == "utf-8"
    assert response.url == url
    assert response.request.method == "GET"
    assert firm_profile(USCC).name in response.text


def test_adapter_passes_the_query_string_and_streams(session):
    response = session.get(
        f"sandbox://provider/v1/enterprises/{USCC}/records/tax?limit=5&as_of={AS_OF}",
        headers={"Authorization": f"Bearer {API_KEY}"},
        stream=True,
    )
    body = json.loads(b"".join(response.iter_content(64)))
    assert body["data"] == records_for(USCC, "tax", AS_OF_DATE)[:5]
    assert body["next_cursor"] == encode_cursor(5)


def test_adapter_posts_json_and_reports_errors(session):
    url = "sandbox://provider/v1/objections"
    headers = {"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": "via-adapter"}
    created = session.post(url, json=OBJECTION, headers=headers)
    assert created.status_code == 201
    replayed = session.post(url, json=OBJECTION, headers=headers)
    assert replayed.json()["id"] == created.json()["id"]
    unauthorized = session.post(url, json=OBJECTION)
    assert unauthorized.status_code == 401
    with pytest.raises(requests.HTTPError):
        unauthorized.raise_for_status()


def test_adapter_requires_the_v1_prefix(session):
    response = session.get(
        f"sandbox://provider/enterprises/{USCC}",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"
    assert response.headers["X-Request-Id"].startswith("req_")


def test_a_plain_session_drops_params_for_sandbox_urls(session):
    """Why SandboxSession exists: requests ignores params= for non-HTTP schemes."""
    response = session.get(
        f"sandbox://provider/v1/enterprises/{USCC}/records/utilities",
        params={"limit": 5},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert len(response.json()["data"]) != 5


def test_sandbox_session_honours_params():
    with SandboxSession() as session:
        session.params = {"as_of": AS_OF}
        response = session.get(
            f"sandbox://provider/v1/enterprises/{USCC}/records/tax?limit=2",
            params={"cursor": encode_cursor(3), "ignored": None},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
    assert response.status_code == 200
    assert response.json()["data"] == records_for(USCC, "tax", AS_OF_DATE)[3:5]
    assert "ignored" not in response.url


def test_provider_client_runs_against_the_sandbox():
    """The real client, retries and parsing included, with no server running."""
    with SandboxSession() as session:
        client = ProviderClient("sandbox://provider/v1", API_KEY, session=session)
        assert client.get_enterprise(USCC)["name"] == firm_profile(USCC).name
        today = timezone.localdate()
        records = client.list_records(USCC, "utilities", page_size=7)
        if timezone.localdate() == today:  # not across midnight
            assert records == records_for(USCC, "utilities", today)
        objection = client.create_objection(**OBJECTION, idempotency_key="client-1")
        assert objection["status"] == "received"
        again = client.create_objection(**OBJECTION, idempotency_key="client-1")
        assert again["id"] == objection["id"]


# --- The Django view -----------------------------------------------------------------

VIEW_BASE = "/sandbox/provider/v1"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {API_KEY}"}


@pytest.mark.urls(__name__)
def test_view_url_name():
    assert (
        reverse("sandbox:api", kwargs={"path": f"/enterprises/{USCC}"})
        == f"{VIEW_BASE}/enterprises/{USCC}"
    )


@pytest.mark.urls(__name__)
def test_view_serves_records(client):
    response = client.get(
        f"{VIEW_BASE}/enterprises/{USCC}/records/tax",
        {"limit": "3", "as_of": AS_OF},
        HTTP_X_REQUEST_ID="view-1",
        **AUTH,
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["X-Request-Id"].startswith("req_")
    assert response["X-Client-Request-Id"] == "view-1"
    body = response.json()
    assert body["data"] == records_for(USCC, "tax", AS_OF_DATE)[:3]


@pytest.mark.urls(__name__)
def test_view_posts_objections_without_csrf():
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    url = f"{VIEW_BASE}/objections"
    kwargs = {"content_type": "application/json", "HTTP_IDEMPOTENCY_KEY": "view-key"}
    created = client.post(url, OBJECTION, **kwargs, **AUTH)
    assert created.status_code == 201
    replayed = client.post(url, OBJECTION, **kwargs, **AUTH)
    assert replayed.json()["id"] == created.json()["id"]
    assert replayed["Idempotent-Replayed"] == "true"


@pytest.mark.urls(__name__)
def test_view_requires_the_key(client):
    response = client.get(f"{VIEW_BASE}/enterprises/{USCC}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.urls(__name__)
def test_view_unknown_api_path_is_the_api_404(client, db):
    # db: Wagtail's redirect middleware looks every 404 up in its table.
    response = client.get(f"{VIEW_BASE}/nowhere", **AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


@pytest.mark.urls(__name__)
def test_view_is_404_when_the_sandbox_is_disabled(client, db):
    with override_settings(CREDIT_SANDBOX_ENABLED=False):
        response = client.get(f"{VIEW_BASE}/enterprises/{USCC}", **AUTH)
    assert response.status_code == 404
    assert "application/json" not in response.get("Content-Type", "")


# --- Real-name verification ----------------------------------------------------------

REPRESENTATIVE = firm_profile(USCC).legal_representative


def start_verification(
    representative: str = REPRESENTATIVE, key: str = "verify-1", uscc: str = USCC
) -> SandboxResponse:
    body = {"uscc": uscc, "legal_representative": representative}
    return call(
        "POST",
        "/verifications",
        headers={"Idempotency-Key": key},
        body=json.dumps(body).encode(),
    )


def confirm(verification_id: str, code: str, key: str) -> SandboxResponse:
    return call(
        "POST",
        f"/verifications/{verification_id}/confirm",
        headers={"Idempotency-Key": key},
        body=json.dumps({"code": code}).encode(),
    )


def wrong_code(verification_id: str) -> str:
    from creditdata.sandbox import verification_code

    right = verification_code(verification_id)
    return "000000" if right != "000000" else "111111"


def test_verification_sends_a_code_to_the_registered_contact():
    from creditdata.sandbox import mask_contact, outbox_messages, verification_code
    from creditdata.synthetic import registered_contact

    response = start_verification(f"  {REPRESENTATIVE} ")  # compared normalized
    assert response.status == 201
    body = response.json()
    contact = registered_contact(USCC)
    assert body["masked_contact"] == mask_contact(contact)
    assert body["masked_contact"] == contact[:3] + "****" + contact[-4:]
    assert (body["status"], body["channel"], body["attempts_remaining"]) == (
        "pending",
        "sms",
        5,
    )
    expires_at = dt.datetime.fromisoformat(body["expires_at"])
    assert 590 <= (expires_at - timezone.now()).total_seconds() <= 600
    (message,) = outbox_messages()
    assert (message["to"], message["uscc"], message["verification_id"]) == (
        contact,
        USCC,
        body["id"],
    )
    assert message["code"] == verification_code(body["id"])
    assert message["code"] in message["text"]
    assert REPRESENTATIVE not in response.body.decode()


def test_verification_with_another_legal_representative_is_refused_and_sends_nothing():
    from creditdata.sandbox import outbox_messages

    response = start_verification("张三丰")
    assert response.status == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (
        "legal_representative_mismatch",
        "legal_representative",
        "verification_error",
    )
    assert REPRESENTATIVE not in response.body.decode()
    assert outbox_messages() == []


def test_verification_start_is_idempotent():
    from creditdata.sandbox import outbox_messages

    first = start_verification(key="same")
    again = start_verification(key="same")
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(outbox_messages()) == 1


@pytest.mark.parametrize(
    ("payload", "param", "code"),
    [
        ({"uscc": USCC}, "legal_representative", "missing_field"),
        (
            {"uscc": "91440300708461136U", "legal_representative": "x"},
            "uscc",
            "invalid_uscc",
        ),
        (
            {"uscc": USCC, "legal_representative": "x" * 101},
            "legal_representative",
            "invalid_field",
        ),
        (
            {"uscc": USCC, "legal_representative": "x", "phone": "1"},
            "phone",
            "unknown_field",
        ),
    ],
)
def test_invalid_verification_request_names_the_field(payload, param, code):
    from creditdata.sandbox import outbox_messages

    response = call(
        "POST",
        "/verifications",
        headers={"Idempotency-Key": "bad"},
        body=json.dumps(payload).encode(),
    )
    assert response.status == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    assert outbox_messages() == []


def test_right_code_verifies_once():
    from creditdata.sandbox import verification_code

    verification_id = start_verification().json()["id"]
    code = verification_code(verification_id)
    confirmed = confirm(verification_id, code, "c-1")
    assert confirmed.status == 200
    assert confirmed.json()["status"] == "verified"
    assert confirmed.json()["uscc"] == USCC
    # A retry of the same attempt (same key) replays; a new attempt is refused.
    replayed = confirm(verification_id, code, "c-1")
    assert replayed.json() == confirmed.json()
    assert replayed.headers["Idempotent-Replayed"] == "true"
    reused = confirm(verification_id, code, "c-2")
    assert reused.status == 409
    assert error_code(reused) == "verification_already_used"


def test_wrong_codes_count_down_then_lock():
    from creditdata.sandbox import verification_code

    verification_id = start_verification().json()["id"]
    wrong = wrong_code(verification_id)
    for remaining in (4, 3, 2, 1):
        response = confirm(verification_id, wrong, f"w-{remaining}")
        assert response.status == 400
        error = response.json()["error"]
        assert (error["code"], error["attempts_remaining"]) == (
            "invalid_code",
            remaining,
        )
    # A retry of one attempt is not another attempt.
    assert (
        confirm(verification_id, wrong, "w-1").json()["error"]["attempts_remaining"]
        == 1
    )
    fifth = confirm(verification_id, wrong, "w-5")
    assert fifth.status == 409
    assert fifth.json()["error"]["code"] == "verification_locked"
    assert fifth.json()["error"]["attempts_remaining"] == 0
    # Locked: even the right code is refused now.
    right = confirm(verification_id, verification_code(verification_id), "w-6")
    assert right.status == 409
    assert error_code(right) == "verification_locked"


def test_expired_code_is_410(monkeypatch):
    from creditdata import sandbox

    verification_id = start_verification().json()["id"]
    later = timezone.now() + dt.timedelta(minutes=10, seconds=1)
    monkeypatch.setattr(sandbox, "_now", lambda: later)
    response = confirm(verification_id, sandbox.verification_code(verification_id), "e")
    assert response.status == 410
    assert error_code(response) == "verification_expired"


@pytest.mark.parametrize(
    ("verification_id", "code", "status", "expected"),
    [
        ("ver_" + "0" * 24, "123456", 404, "verification_not_found"),
        ("nonsense", "123456", 404, "verification_not_found"),
        ("ver_" + "0" * 24, "12345", 400, "invalid_field"),
        ("ver_" + "0" * 24, "abcdef", 400, "invalid_field"),
    ],
)
def test_bad_confirmation_is_refused(verification_id, code, status, expected):
    response = confirm(verification_id, code, "bad")
    assert response.status == status
    assert error_code(response) == expected


def test_malformed_code_is_not_an_attempt():
    verification_id = start_verification().json()["id"]
    assert confirm(verification_id, "12", "m-1").status == 400
    wrong = confirm(verification_id, wrong_code(verification_id), "m-2")
    assert wrong.json()["error"]["attempts_remaining"] == 4


def test_client_runs_the_verification_against_the_sandbox():
    from creditdata.exceptions import (
        LegalRepresentativeMismatch,
        VerificationAlreadyUsed,
        VerificationCodeInvalid,
    )
    from creditdata.sandbox import verification_code

    with SandboxSession() as session:
        client = ProviderClient("sandbox://provider/v1", API_KEY, session=session)
        with pytest.raises(LegalRepresentativeMismatch):
            client.create_verification(uscc=USCC, legal_representative="某某")
        started = client.create_verification(
            uscc=USCC, legal_representative=REPRESENTATIVE
        )
        assert started["expires_at"].tzinfo is not None
        with pytest.raises(VerificationCodeInvalid) as wrong:
            client.confirm_verification(started["id"], code=wrong_code(started["id"]))
        assert wrong.value.attempts_remaining == 4
        code = verification_code(started["id"])
        assert client.confirm_verification(started["id"], code=code)["status"] == (
            "verified"
        )
        with pytest.raises(VerificationAlreadyUsed):
            client.confirm_verification(started["id"], code=code)


def test_outbox_page_lists_the_codes(client, db):
    from creditdata.sandbox import verification_code
    from tests.factories import UserFactory

    verification_id = start_verification().json()["id"]
    other = start_verification(
        firm_profile(synthetic_uscc(13)).legal_representative,
        key="verify-2",
        uscc=synthetic_uscc(13),
    ).json()["id"]
    assert client.get("/sandbox/provider/outbox/").status_code == 302  # log in first
    client.force_login(UserFactory())
    page = client.get("/sandbox/provider/outbox/", {"uscc": USCC.lower()})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-verification="{verification_id}"' in html
    assert verification_code(verification_id) in html
    assert f'data-verification="{other}"' not in html
    with override_settings(CREDIT_SANDBOX_ENABLED=False):
        assert client.get("/sandbox/provider/outbox/").status_code == 404
