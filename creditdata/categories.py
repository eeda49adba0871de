"""The twelve public-credit data categories and the wire format of their records.

This module is the single source of truth for what a record of each category looks like
on the provider API (see ``provider_openapi.yaml``), what the sandbox serves, what the
ingestion parser accepts and what the record tables store. A record on the wire is a
JSON object with ``id`` (the provider's id, stored as ``source_id``), ``category`` and
the fields below; amounts are decimal strings in CNY, dates ISO ``YYYY-MM-DD``, monthly
periods ``YYYY-MM``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.codes import DISTRICTS, INDUSTRIES, Category

TAX_CREDIT_GRADES = ("A", "B", "M", "C", "D")
REGISTRATION_STATUSES = ("active", "revoked", "deregistered")
UTILITY_TYPES = ("water", "electricity", "gas")
IP_TYPES = ("invention_patent", "utility_model", "design_patent", "trademark")
IP_STATUSES = ("valid", "expired", "revoked")
ADMINISTRATIVE_TYPES = ("licence", "penalty")
PENALTY_SEVERITIES = ("minor", "general", "serious")
COURT_RECORD_TYPES = ("judgement", "enforcement")
HONOUR_LEVELS = ("national", "provincial", "municipal", "district")
COMMITMENT_STATUSES = ("in_force", "fulfilled", "breached")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record on the wire. ``kind`` is one of KINDS."""

    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] | None = None
    max_length: int = 200


KINDS = ("str", "date", "month", "decimal", "int", "bool", "choice")

#: Fields of each category, besides ``id`` and ``category``.
RECORD_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    Category.REGISTRATION: (
        FieldSpec("name", "str"),
        FieldSpec("legal_representative", "str", max_length=100),
        FieldSpec("registered_capital", "decimal"),
        FieldSpec("founded_on", "date"),
        FieldSpec("industry", "choice", choices=tuple(INDUSTRIES)),
        FieldSpec("district", "choice", choices=tuple(DISTRICTS)),
        FieldSpec("status", "choice", choices=REGISTRATION_STATUSES),
        FieldSpec("address", "str", required=False, max_length=300),
    ),
    Category.TAX: (
        FieldSpec("period", "month"),
        FieldSpec("tax_paid", "decimal"),
        FieldSpec("arrears", "decimal"),
        FieldSpec("credit_grade", "choice", required=False, choices=TAX_CREDIT_GRADES),
    ),
    Category.SOCIAL_INSURANCE: (
        FieldSpec("period", "month"),
        FieldSpec("headcount", "int"),
        FieldSpec("arrears", "decimal"),
    ),
    Category.HOUSING_FUND: (
        FieldSpec("period", "month"),
        FieldSpec("contributors", "int"),
        FieldSpec("amount_paid", "decimal"),
        FieldSpec("paid_on_time", "bool"),
    ),
    Category.UTILITIES: (
        FieldSpec("period", "month"),
        FieldSpec("utility", "choice", choices=UTILITY_TYPES),
        FieldSpec("usage", "decimal"),
        FieldSpec("amount", "decimal"),
        FieldSpec("arrears", "decimal"),
    ),
    Category.CUSTOMS: (
        FieldSpec("period", "month"),
        FieldSpec("imports", "decimal"),
        FieldSpec("exports", "decimal"),
    ),
    Category.INTELLECTUAL_PROPERTY: (
        FieldSpec("ip_type", "choice", choices=IP_TYPES),
        FieldSpec("number", "str", max_length=64),
        FieldSpec("title", "str"),
        FieldSpec("granted_on", "date"),
        FieldSpec("status", "choice", choices=IP_STATUSES),
    ),
    Category.ADMINISTRATIVE: (
        FieldSpec("record_type", "choice", choices=ADMINISTRATIVE_TYPES),
        FieldSpec("decision_number", "str", max_length=100),
        FieldSpec("authority", "str"),
        FieldSpec("decided_on", "date"),
        FieldSpec("amount", "decimal", required=False),
        FieldSpec("severity", "choice", required=False, choices=PENALTY_SEVERITIES),
        FieldSpec("repaired", "bool"),
        FieldSpec("repaired_on", "date", required=False),
        FieldSpec("description", "str", required=False, max_length=1000),
    ),
    Category.COURT: (
        FieldSpec("record_type", "choice", choices=COURT_RECORD_TYPES),
        FieldSpec("case_number", "str", max_length=100),
        FieldSpec("court", "str"),
        FieldSpec("filed_on", "date"),
        FieldSpec("amount", "decimal"),
        FieldSpec("dishonest_debtor", "bool"),
        FieldSpec("concluded_on", "date", required=False),
    ),
    Category.ABNORMAL_OPERATION: (
        FieldSpec("listed_on", "date"),
        FieldSpec("reason", "str", max_length=500),
        FieldSpec("authority", "str"),
        FieldSpec("removed_on", "date", required=False),
    ),
    Category.HONOURS: (
        FieldSpec("title", "str"),
        FieldSpec("authority", "str"),
        FieldSpec("awarded_on", "date"),
        FieldSpec("level", "choice", choices=HONOUR_LEVELS),
    ),
    Category.CREDIT_COMMITMENTS: (
        FieldSpec("commitment_type", "str", max_length=100),
        FieldSpec("authority", "str"),
        FieldSpec("made_on", "date"),
        FieldSpec("status", "choice", choices=COMMITMENT_STATUSES),
    ),
}

#: Categories whose records form a monthly series (checked for missing months).
MONTHLY_CATEGORIES = frozenset(
    name for name, fields in RECORD_FIELDS.items() if fields[0].kind == "month"
)


class MalformedRecord(ValueError):
    """A record that does not match its category's wire format; says which field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _parse_value(spec: FieldSpec, value: object) -> object:
    if spec.kind == "str":
        if not isinstance(value, str):
            raise MalformedRecord(spec.name, "expected a string")
        if len(value) > spec.max_length:
            raise MalformedRecord(
                spec.name, f"longer than {spec.max_length} characters"
            )
        return value
    if spec.kind == "choice":
        if value not in (spec.choices or ()):
            raise MalformedRecord(spec.name, f"{value!r} is not one of {spec.choices}")
        return value
    if spec.kind == "date":
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise MalformedRecord(
                spec.name, f"{value!r} is not a YYYY-MM-DD date"
            ) from None
    if spec.kind == "month":
        try:
            return dt.date.fromisoformat(f"{value}-01")
        except ValueError:
            raise MalformedRecord(
                spec.name, f"{value!r} is not a YYYY-MM month"
            ) from None
    if spec.kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise MalformedRecord(spec.name, "expected a decimal string")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise MalformedRecord(spec.name, f"{value!r} is not a decimal") from None
        if not number.is_finite():
            raise MalformedRecord(spec.name, f"{value!r} is not a finite decimal")
        return number.quantize(Decimal("0.01"))
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedRecord(spec.name, "expected an integer")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise MalformedRecord(spec.name, "expected true or false")
        return value
    raise AssertionError(f"unknown field kind {spec.kind}")


def parse_record(category: str, payload: object) -> tuple[str, dict[str, object]]:
    """Validate one wire record of ``category``; return ``(source_id, fields)``.

    Raises ``MalformedRecord`` naming the field, for a record of another or an
    unknown category, a missing required field, a wrong type or an unknown field.
    """
    if category not in RECORD_FIELDS:
        raise MalformedRecord("category", f"unknown category {category!r}")
    if not isinstance(payload, dict):
        raise MalformedRecord("record", "expected a JSON object")
    if payload.get("category") != category:
        raise MalformedRecord(
            "category", f"{payload.get('category')!r} where {category!r} was requested"
        )
    source_id = payload.get("id")
    if not isinstance(source_id, str) or not source_id or len(source_id) > 100:
        raise MalformedRecord(
            "id", "expected a non-empty string of at most 100 characters"
        )
    specs = RECORD_FIELDS[category]
    known = {spec.name for spec in specs} | {"id", "category"}
    unknown = sorted(set(payload) - known)
    if unknown:
        raise MalformedRecord(unknown[0], "unknown field")
    fields: dict[str, object] = {}
    for spec in specs:
        value = payload.get(spec.name)
        if value is None:
            if spec.required:
                raise MalformedRecord(spec.name, "required")
            fields[spec.name] = None
            continue
        fields[spec.name] = _parse_value(spec, value)
    return source_id, fields


def serialize_value(spec: FieldSpec, value: object) -> object:
    """The wire form of a Python value (the inverse of ``_parse_value``)."""
    if value is None:
        return None
    if spec.kind == "month":
        return value.strftime("%Y-%m")  # type: ignore[union-attr]
    if spec.kind == "date":
        return value.isoformat()  # type: ignore[union-attr]
    if spec.kind == "decimal":
        return str(Decimal(value).quantize(Decimal("0.01")))  # type: ignore[arg-type]
    return value
