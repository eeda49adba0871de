"""``provider_openapi.yaml`` documents the API the sandbox serves and the client uses.

The record schemas must match ``RECORD_FIELDS`` exactly, and what the sandbox actually
answers must validate against the document, so neither can drift from the other.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from core.codes import Category
from creditdata.categories import RECORD_FIELDS
from creditdata.sandbox import handle
from creditdata.synthetic import records_for, synthetic_uscc

SPEC_PATH = Path(__file__).resolve().parents[2] / "creditdata" / "provider_openapi.yaml"
API_KEY = "sk_sandbox_public_demo_key"
JSON_TYPES = {
    "str": "string",
    "date": "string",
    "month": "string",
    "decimal": "string",
    "int": "integer",
    "bool": "boolean",
    "choice": "string",
}


@pytest.fixture(scope="module")
def spec() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as handle_:
        return yaml.safe_load(handle_)


def _resolve(spec: dict, ref: str) -> dict:
    assert ref.startswith("#/")
    node = spec
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _validator(spec: dict, schema_ref: str) -> Draft202012Validator:
    """A validator for one component, resolving the document's own ``#/…`` refs."""
    root = {"$ref": schema_ref, "components": spec["components"]}
    return Draft202012Validator(root, format_checker=FormatChecker())


def _record_schema(spec: dict, category: str) -> dict:
    items = spec["components"]["schemas"]["RecordPage"]["properties"]["data"]["items"]
    return _resolve(spec, items["discriminator"]["mapping"][category])


def test_it_is_openapi_3_1(spec):
    assert str(spec["openapi"]).startswith("3.1")
    assert spec["info"]["title"]
    assert spec["servers"]
    bearer = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"bearerAuth": []}]


def test_the_five_operations_are_documented(spec):
    paths = spec["paths"]
    assert set(paths) == {
        "/enterprises/{uscc}",
        "/enterprises/{uscc}/records/{category}",
        "/objections",
        "/verifications",
        "/verifications/{verification_id}/confirm",
    }
    assert paths["/enterprises/{uscc}"]["get"]["operationId"] == "getEnterprise"
    records = paths["/enterprises/{uscc}/records/{category}"]["get"]
    names = {
        p.get("name") or _resolve(spec, p["$ref"])["name"]
        for p in records["parameters"]
    }
    assert {"uscc", "category", "limit", "cursor", "as_of"} <= names
    objection = paths["/objections"]["post"]
    key = next(p for p in objection["parameters"] if p.get("name") == "Idempotency-Key")
    assert key["in"] == "header" and key["required"] is True
    assert {"201", "400", "401", "409"} <= set(objection["responses"])
    for operation in (paths["/enterprises/{uscc}"]["get"], records, objection):
        assert "401" in operation["responses"] and "5XX" in operation["responses"]


def test_request_ids_and_retry_guidance_are_documented(spec):
    assert "X-Request-Id" in spec["components"]["headers"]
    description = spec["info"]["description"]
    assert "Idempotency-Key" in description
    assert "429" in description and "5xx" in description


@pytest.mark.parametrize("category", [c.value for c in Category])
def test_every_category_has_a_record_schema_matching_record_fields(spec, category):
    schema = _record_schema(spec, category)
    specs = RECORD_FIELDS[category]
    assert set(schema["properties"]) == {"id", "category"} | {s.name for s in specs}
    assert set(schema["required"]) == {"id", "category"} | {
        s.name for s in specs if s.required
    }
    assert schema["properties"]["category"] == {"const": category}
    assert schema["additionalProperties"] is False
    for field in specs:
        prop = schema["properties"][field.name]
        expected_type = JSON_TYPES[field.kind]
        assert prop["type"] == (
            expected_type if field.required else [expected_type, "null"]
        ), field.name
        if field.kind == "choice":
            choices = list(field.choices or ())
            assert prop["enum"] == (choices if field.required else [*choices, None])
        if field.kind == "date":
            assert prop["format"] == "date"
        if field.kind in ("month", "decimal"):
            assert "pattern" in prop
        if field.kind == "str":
            assert prop["maxLength"] == field.max_length


def test_category_enum_lists_every_category(spec):
    assert spec["components"]["schemas"]["Category"]["enum"] == [
        c.value for c in Category
    ]


def test_webhooks_are_documented(spec):
    webhooks = spec["webhooks"]
    assert set(webhooks) == {"records.updated", "record.repaired"}
    for name, operation in webhooks.items():
        post = operation["post"]
        signature = _resolve(spec, post["parameters"][0]["$ref"])
        assert signature["name"] == "X-Xyd-Signature" and signature["in"] == "header"
        event = _resolve(
            spec, post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        )
        assert event["allOf"][1]["properties"]["type"] == {"const": name}
    delivery = spec["components"]["schemas"]["WebhookDelivery"]["description"]
    assert "HMAC-SHA256" in delivery and "300 seconds" in delivery
    assert "reject replays" in delivery and "event `id`s" in delivery


def test_webhook_examples_validate(spec):
    updated = {
        "id": "evt_1a2b3c",
        "type": "records.updated",
        "created": 1767225600,
        "data": {
            "uscc": "91440300708461136T",
            "category": "court",
            "record_ids": ["cou-91440300708461136T-e000"],
        },
    }
    repaired = {
        "id": "evt_4d5e6f",
        "type": "record.repaired",
        "created": 1767225600,
        "data": {
            "uscc": "91440300708461136T",
            "category": "administrative",
            "record_id": "adm-91440300708461136T-p000",
        },
    }
    updated_validator = _validator(spec, "#/components/schemas/RecordsUpdatedEvent")
    repaired_validator = _validator(spec, "#/components/schemas/RecordRepairedEvent")
    updated_validator.validate(updated)
    repaired_validator.validate(repaired)
    assert not repaired_validator.is_valid(updated)


# --- What the sandbox serves validates against the document -----------------------------


@pytest.mark.parametrize("index", range(0, 200, 25))
def test_generated_records_validate_against_their_schema(spec, index):
    uscc = synthetic_uscc(index)
    for category in Category:
        validator = _validator(spec, "#/components/schemas/RecordPage")
        records = records_for(uscc, category.value, dt.date(2026, 6, 15))
        validator.validate({"data": records, "next_cursor": None})


def _call(method: str, path: str, query: dict | None = None, **kwargs):
    headers = {"Authorization": f"Bearer {API_KEY}", **kwargs.pop("headers", {})}
    return handle(method, path, query or {}, headers, kwargs.pop("body", b""))


def test_sandbox_answers_validate(spec, settings):
    settings.CREDIT_PROVIDER_API_KEY = API_KEY
    uscc = synthetic_uscc(5)
    enterprise = _call("GET", f"/enterprises/{uscc}")
    _validator(spec, "#/components/schemas/Enterprise").validate(enterprise.json())
    page = _call("GET", f"/enterprises/{uscc}/records/tax", {"limit": "3"})
    _validator(spec, "#/components/schemas/RecordPage").validate(page.json())
    body = {"uscc": uscc, "category": "tax", "record_id": "x", "reason": "wrong"}
    objection = _call(
        "POST",
        "/objections",
        headers={"Idempotency-Key": "k1"},
        body=json.dumps(body).encode(),
    )
    assert objection.status == 201
    _validator(spec, "#/components/schemas/Objection").validate(objection.json())
    error_validator = _validator(spec, "#/components/schemas/Error")
    for response in (
        _call("GET", "/enterprises/123"),
        _call("GET", "/nowhere"),
        handle("GET", f"/enterprises/{uscc}", {}, {}, b""),
        _call("POST", "/objections", body=json.dumps(body).encode()),
    ):
        assert response.status >= 400
        error_validator.validate(response.json())


def test_every_error_code_the_sandbox_uses_is_documented(spec):
    source = (SPEC_PATH.parent / "sandbox.py").read_text(encoding="utf-8")
    documented = SPEC_PATH.read_text(encoding="utf-8")
    codes = {
        "invalid_api_key",
        "invalid_uscc",
        "unknown_category",
        "invalid_limit",
        "invalid_cursor",
        "invalid_as_of",
        "invalid_json",
        "missing_field",
        "invalid_field",
        "unknown_field",
        "idempotency_key_required",
        "invalid_idempotency_key",
        "idempotency_key_reused",
        "unknown_path",
        "enterprise_not_found",
        "legal_representative_mismatch",
        "enterprise_not_active",
        "invalid_code",
        "verification_not_found",
        "verification_already_used",
        "verification_locked",
        "verification_expired",
    }
    for code in codes:
        assert f'"{code}"' in source, code
        assert code in documented, code


# --- Real-name verification --------------------------------------------------------------


def test_verification_operations_are_documented(spec):
    create = spec["paths"]["/verifications"]["post"]
    confirm = spec["paths"]["/verifications/{verification_id}/confirm"]["post"]
    assert create["operationId"] == "createVerification"
    assert confirm["operationId"] == "confirmVerification"
    for operation in (create, confirm):
        key = _resolve(spec, operation["parameters"][-2]["$ref"])
        assert (key["name"], key["in"], key["required"]) == (
            "Idempotency-Key",
            "header",
            True,
        )
        assert {"400", "401", "409", "5XX"} <= set(operation["responses"])
    assert {"201", "404"} <= set(create["responses"])
    assert {"200", "404", "410"} <= set(confirm["responses"])
    attempts = spec["components"]["schemas"]["Error"]["properties"]["error"]
    assert attempts["properties"]["attempts_remaining"]["type"] == "integer"
    assert "verification_error" in attempts["properties"]["type"]["enum"]


def test_sandbox_verification_answers_validate(spec, settings):
    from creditdata.sandbox import verification_code
    from creditdata.synthetic import firm_profile

    settings.CREDIT_PROVIDER_API_KEY = API_KEY
    uscc = synthetic_uscc(7)
    representative = firm_profile(uscc).legal_representative
    body = {"uscc": uscc, "legal_representative": representative}
    started = _call(
        "POST",
        "/verifications",
        headers={"Idempotency-Key": "v1"},
        body=json.dumps(body).encode(),
    )
    assert started.status == 201
    _validator(spec, "#/components/schemas/Verification").validate(started.json())
    verification_id = started.json()["id"]
    path = f"/verifications/{verification_id}/confirm"
    wrong = "000000" if verification_code(verification_id) != "000000" else "111111"
    refused = _call(
        "POST",
        path,
        headers={"Idempotency-Key": "c1"},
        body=json.dumps({"code": wrong}).encode(),
    )
    assert refused.status == 400
    _validator(spec, "#/components/schemas/Error").validate(refused.json())
    confirmed = _call(
        "POST",
        path,
        headers={"Idempotency-Key": "c2"},
        body=json.dumps({"code": verification_code(verification_id)}).encode(),
    )
    assert confirmed.status == 200
    _validator(spec, "#/components/schemas/VerificationConfirmed").validate(
        confirmed.json()
    )
    again = _call(
        "POST",
        path,
        headers={"Idempotency-Key": "c3"},
        body=json.dumps({"code": verification_code(verification_id)}).encode(),
    )
    assert again.status == 409
    _validator(spec, "#/components/schemas/Error").validate(again.json())
