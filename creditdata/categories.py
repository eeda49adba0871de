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
from typing import cast

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.codes import DISTRICTS, INDUSTRIES, Category

# --- the coded values of record fields, each with the label users see -----------------
# The value is what the provider sends and the tables store; the label is all a page,
# an email or an export ever shows (a stored code is never displayed).


class RegistrationStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("enterprise status", "Active")
    REVOKED = "revoked", _("Licence revoked")
    DEREGISTERED = "deregistered", _("Deregistered")


class TaxCreditGrade(models.TextChoices):
    """纳税信用等级 A/B/M/C/D, shown as the tax authority names them (“A级”)."""

    A = "A", _("Grade A")
    B = "B", _("Grade B")
    M = "M", _("Grade M")
    C = "C", _("Grade C")
    D = "D", _("Grade D")


class UtilityType(models.TextChoices):
    WATER = "water", _("Water")
    ELECTRICITY = "electricity", _("Electricity")
    GAS = "gas", _("Gas")


class IntellectualPropertyType(models.TextChoices):
    INVENTION_PATENT = "invention_patent", _("Invention patent")
    UTILITY_MODEL = "utility_model", _("Utility model patent")
    DESIGN_PATENT = "design_patent", _("Design patent")
    TRADEMARK = "trademark", _("Trademark")


class IntellectualPropertyStatus(models.TextChoices):
    VALID = "valid", pgettext_lazy("intellectual property status", "Valid")
    EXPIRED = "expired", pgettext_lazy("intellectual property status", "Expired")
    REVOKED = "revoked", pgettext_lazy("intellectual property status", "Revoked")


class AdministrativeType(models.TextChoices):
    LICENCE = "licence", _("Administrative licence")
    PENALTY = "penalty", _("Administrative penalty")


class PenaltySeverity(models.TextChoices):
    MINOR = "minor", pgettext_lazy("penalty severity", "Minor")
    GENERAL = "general", pgettext_lazy("penalty severity", "General")
    SERIOUS = "serious", pgettext_lazy("penalty severity", "Serious")


class CourtRecordType(models.TextChoices):
    JUDGEMENT = "judgement", _("Court judgement")
    ENFORCEMENT = "enforcement", _("Enforcement case")


class HonourLevel(models.TextChoices):
    NATIONAL = "national", pgettext_lazy("honour level", "National")
    PROVINCIAL = "provincial", pgettext_lazy("honour level", "Provincial")
    MUNICIPAL = "municipal", pgettext_lazy("honour level", "Municipal")
    DISTRICT = "district", pgettext_lazy("honour level", "District")


class CommitmentStatus(models.TextChoices):
    IN_FORCE = "in_force", _("In force")
    FULFILLED = "fulfilled", _("Fulfilled")
    BREACHED = "breached", _("Breached")


#: The wire values of each coded field (what ``parse_record`` accepts).
TAX_CREDIT_GRADES = tuple(TaxCreditGrade.values)
REGISTRATION_STATUSES = tuple(RegistrationStatus.values)
UTILITY_TYPES = tuple(UtilityType.values)
IP_TYPES = tuple(IntellectualPropertyType.values)
IP_STATUSES = tuple(IntellectualPropertyStatus.values)
ADMINISTRATIVE_TYPES = tuple(AdministrativeType.values)
PENALTY_SEVERITIES = tuple(PenaltySeverity.values)
COURT_RECORD_TYPES = tuple(CourtRecordType.values)
HONOUR_LEVELS = tuple(HonourLevel.values)
COMMITMENT_STATUSES = tuple(CommitmentStatus.values)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record on the wire. ``kind`` is one of KINDS.

    ``quantity`` marks a decimal that is not money (a utility's usage), so a page
    shows it as a plain number rather than an amount in CNY."""

    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] | None = None
    max_length: int = 200
    quantity: bool = False

    @property
    def display(self) -> str:
        """How a page shows the value: one of DISPLAYS."""
        if self.kind == "decimal":
            return "number" if self.quantity else "money"
        return {"int": "number", "str": "text"}.get(self.kind, self.kind)


KINDS = ("str", "date", "month", "decimal", "int", "bool", "choice")
#: ``FieldSpec.display`` values: a choice shows its label, a month "2026年3月" /
#: "Mar 2026", money grouped with its currency, a number grouped, a bool yes/no.
DISPLAYS = ("text", "date", "month", "money", "number", "bool", "choice")

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
        FieldSpec("usage", "decimal", quantity=True),
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
    """The wire form of a Python value (the inverse of ``_parse_value``, whose
    values by kind the casts name)."""
    if value is None:
        return None
    if spec.kind == "month":
        return cast(dt.date, value).strftime("%Y-%m")
    if spec.kind == "date":
        return cast(dt.date, value).isoformat()
    if spec.kind == "decimal":
        return str(Decimal(cast(Decimal | int | str, value)).quantize(Decimal("0.01")))
    return value
