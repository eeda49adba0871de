"""Data-quality rules run on an enterprise's stored records of one category.

Each rule looks at the parsed records (dicts of Python values, as ``parse_record``
returns them, plus ``source_id``) and yields findings. The rules catch what a scorer
must not silently trust: holes in monthly series, negative amounts, dates in the
future, the same penalty decision published twice, repairs dated before the penalty.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from core.codes import Category
from core.templatetags.formatting import join_list
from creditdata.categories import MONTHLY_CATEGORIES, RECORD_FIELDS, UtilityType


class FindingRule(models.TextChoices):
    """The rules, by the name a finding stores, with the label the operator reads."""

    MISSING_MONTHS = "missing_months", _("Missing months")
    NEGATIVE_AMOUNT = "negative_amount", _("Negative amount")
    FUTURE_DATE = "future_date", _("Date in the future")
    DUPLICATE_DECISION_NUMBER = (
        "duplicate_decision_number",
        _("Duplicate decision number"),
    )
    REPAIRED_BEFORE_DECIDED = (
        "repaired_before_decided",
        _("Repaired before the decision"),
    )
    REPAIRED_WITHOUT_DATE = "repaired_without_date", _("Repaired without a date")


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # "warning" or "error"
    #: For logs and the database, in English; pages show ``describe(rule, params)``.
    message: str
    source_ids: tuple[str, ...]
    #: What the message says, as codes and ISO dates: a page translates them.
    params: dict = field(default_factory=dict)


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def missing_months(category: str, records: list[dict]) -> Iterator[Finding]:
    """A monthly series with a hole between its first and last month."""
    if category not in MONTHLY_CATEGORIES:
        return
    series: dict[str, set[int]] = defaultdict(set)
    for record in records:
        key = record.get("utility") or ""  # utilities: one series per utility type
        series[key].add(_month_index(record["period"]))
    for key, months in sorted(series.items()):
        if len(months) < 2:
            continue
        gaps = sorted(set(range(min(months), max(months) + 1)) - months)
        if gaps:
            shown = ", ".join(_month_label(m) for m in gaps[:6])
            more = f" (+{len(gaps) - 6} more)" if len(gaps) > 6 else ""
            label = f"{key}: " if key else ""
            yield Finding(
                FindingRule.MISSING_MONTHS,
                "warning",
                f"{label}{len(gaps)} missing month(s): {shown}{more}",
                (),
                {
                    "series": key,
                    "count": len(gaps),
                    "months": [_month_label(m) for m in gaps[:6]],
                },
            )


def negative_amounts(category: str, records: list[dict]) -> Iterator[Finding]:
    fields = [s.name for s in RECORD_FIELDS[category] if s.kind in ("decimal", "int")]
    for record in records:
        for name in fields:
            value = record.get(name)
            if value is not None and Decimal(value) < 0:
                yield Finding(
                    FindingRule.NEGATIVE_AMOUNT,
                    "error",
                    f"{name} is negative ({value})",
                    (record["source_id"],),
                    {"field": name, "value": str(value)},
                )


def future_dates(
    category: str, records: list[dict], today: dt.date
) -> Iterator[Finding]:
    fields = [s.name for s in RECORD_FIELDS[category] if s.kind in ("date", "month")]
    for record in records:
        for name in fields:
            value = record.get(name)
            if value is None:
                continue
            is_month = name == "period"
            if (is_month and _month_index(value) > _month_index(today)) or (
                not is_month and value > today
            ):
                yield Finding(
                    FindingRule.FUTURE_DATE,
                    "error",
                    f"{name} {value.isoformat()} is in the future",
                    (record["source_id"],),
                    {"field": name, "date": value.isoformat(), "month": is_month},
                )


def duplicate_decision_numbers(category: str, records: list[dict]) -> Iterator[Finding]:
    if category != Category.ADMINISTRATIVE:
        return
    by_number: dict[str, list[str]] = defaultdict(list)
    for record in records:
        by_number[record["decision_number"]].append(record["source_id"])
    for number, source_ids in sorted(by_number.items()):
        if len(source_ids) > 1:
            yield Finding(
                FindingRule.DUPLICATE_DECISION_NUMBER,
                "error",
                f"decision number {number} appears in {len(source_ids)} records",
                tuple(sorted(source_ids)),
                {"number": number, "count": len(source_ids)},
            )


def repaired_before_decided(category: str, records: list[dict]) -> Iterator[Finding]:
    if category != Category.ADMINISTRATIVE:
        return
    for record in records:
        repaired_on, decided_on = record.get("repaired_on"), record["decided_on"]
        if repaired_on is not None and repaired_on < decided_on:
            yield Finding(
                FindingRule.REPAIRED_BEFORE_DECIDED,
                "error",
                f"repaired on {repaired_on} before the decision of {decided_on}",
                (record["source_id"],),
                {
                    "repaired_on": repaired_on.isoformat(),
                    "decided_on": decided_on.isoformat(),
                },
            )
        if record.get("repaired") and repaired_on is None:
            yield Finding(
                FindingRule.REPAIRED_WITHOUT_DATE,
                "warning",
                "marked repaired without a repair date",
                (record["source_id"],),
            )


def check_records(
    category: str, records: Iterable[dict], *, today: dt.date
) -> list[Finding]:
    """All findings for one enterprise's records of ``category``."""
    rows = list(records)
    findings: list[Finding] = []
    findings.extend(missing_months(category, rows))
    findings.extend(negative_amounts(category, rows))
    findings.extend(future_dates(category, rows, today))
    findings.extend(duplicate_decision_numbers(category, rows))
    findings.extend(repaired_before_decided(category, rows))
    return findings


def _date(value: str, *, month: bool = False) -> str:
    day = dt.date.fromisoformat(value if not month or len(value) > 7 else value + "-01")
    return date_format(day, "YEAR_MONTH_FORMAT" if month else "DATE_FORMAT")


def describe(category: str, rule: str, params: dict, fallback: str) -> str:
    """A finding in words of the active language, from the codes it stores: field
    names as their labels, a utility by its label, dates and months in the locale's
    format. A finding stored before ``params`` existed shows its stored message."""
    if not params:
        return fallback
    from creditdata.models import RECORD_MODELS

    def field_label(name: str) -> str:
        field = RECORD_MODELS[category]._meta.get_field(name)
        assert isinstance(field, models.Field)  # a record's own column
        return str(field.verbose_name)

    if rule == FindingRule.MISSING_MONTHS:
        months = join_list(_date(m, month=True) for m in params["months"])
        text = ngettext(
            "%(count)d missing month: %(months)s",
            "%(count)d missing months: %(months)s",
            params["count"],
        ) % {"count": params["count"], "months": months}
        if params.get("series"):
            series = dict(UtilityType.choices).get(params["series"], params["series"])
            separator = pgettext("label before a value", ": ")
            text = f"{series}{separator}{text}"
        return text
    if rule == FindingRule.NEGATIVE_AMOUNT:
        return gettext("%(field)s is negative (%(value)s)") % {
            "field": field_label(params["field"]),
            "value": params["value"],
        }
    if rule == FindingRule.FUTURE_DATE:
        return gettext("%(field)s %(date)s is in the future") % {
            "field": field_label(params["field"]),
            "date": _date(params["date"], month=params.get("month", False)),
        }
    if rule == FindingRule.DUPLICATE_DECISION_NUMBER:
        return ngettext(
            "Decision number %(number)s appears in %(count)d record",
            "Decision number %(number)s appears in %(count)d records",
            params["count"],
        ) % {"number": params["number"], "count": params["count"]}
    if rule == FindingRule.REPAIRED_BEFORE_DECIDED:
        return gettext(
            "Repaired on %(repaired)s, before the decision of %(decided)s"
        ) % {
            "repaired": _date(params["repaired_on"]),
            "decided": _date(params["decided_on"]),
        }
    return fallback
