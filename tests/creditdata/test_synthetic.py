"""The synthetic enterprise generator behind the sandbox provider.

What the sandbox and anyone training a scorer on it rely on: the same USCC gives the same
data in every process, records never leak the future and never change retroactively,
every record is valid on the wire, and the population looks like the documented one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borrowers.uscc import is_valid_uscc, make_uscc
from creditdata.categories import (
    DISTRICTS,
    INDUSTRIES,
    MONTHLY_CATEGORIES,
    RECORD_FIELDS,
    Category,
    parse_record,
)
from creditdata.synthetic import (
    FirmProfile,
    firm_profile,
    records_for,
    simulated_default,
    synthetic_uscc,
    true_default_probability,
)

BASE_DIR = Path(__file__).resolve().parents[2]
CATEGORIES = [category.value for category in Category]
AS_OF = dt.date(2026, 6, 15)
LATER = dt.date(2026, 9, 15)

#: Fields that move forward when something happens (a repair, a conclusion, ...), and
#: the value they have before it happens.
LIFECYCLE_OPEN = {
    "registration": {"status": "active"},
    "administrative": {"repaired": False, "repaired_on": None},
    "court": {"concluded_on": None},
    "abnormal_operation": {"removed_on": None},
    "credit_commitments": {"status": "in_force"},
    "intellectual_property": {"status": "valid"},
}


def _month(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def _primary_date(record: dict) -> str:
    """The record's own date (month or day), the one it is ordered and cut off by."""
    first = RECORD_FIELDS[record["category"]][0]
    if first.kind == "month":
        return record[first.name]
    if record["category"] == "registration":
        return record["founded_on"]
    return next(
        record[spec.name]
        for spec in RECORD_FIELDS[record["category"]]
        if spec.kind == "date"
    )


def _all_records(uscc: str, as_of: dt.date) -> dict[str, list[dict]]:
    return {category: records_for(uscc, category, as_of) for category in CATEGORIES}


# --- USCCs and profiles ------------------------------------------------------------------


def test_synthetic_usccs_are_valid_and_unique():
    codes = [synthetic_uscc(index) for index in range(5001)]
    assert all(is_valid_uscc(code) for code in codes)
    assert len(set(codes)) == len(codes)
    assert all(code.startswith("91") and code[2:8] in DISTRICTS for code in codes)


@pytest.mark.parametrize("index", [-1, 31**9])
def test_synthetic_uscc_refuses_indices_it_cannot_make_unique(index):
    with pytest.raises(ValueError, match="index"):
        synthetic_uscc(index)


def test_profile_is_plausible():
    for index in range(300):
        profile = firm_profile(synthetic_uscc(index))
        assert isinstance(profile, FirmProfile)
        assert profile.name.startswith("深圳市") and profile.name.endswith("有限公司")
        assert 2 <= len(profile.legal_representative) <= 3
        assert Decimal(500_000) <= profile.registered_capital <= Decimal(50_000_000)
        assert profile.registered_capital % 10_000 == 0
        assert dt.date(2001, 1, 1) <= profile.founded_on <= dt.date(2025, 1, 1)
        assert profile.industry in INDUSTRIES
        assert profile.district == profile.uscc[2:8]
        assert 3 <= profile.size <= 500
        assert profile.address.startswith("深圳市")


def test_a_code_outside_shenzhen_districts_still_gets_a_district():
    profile = firm_profile("91440300708461136T")
    assert profile.district in DISTRICTS


def test_profile_is_frozen():
    profile = firm_profile(synthetic_uscc(1))
    with pytest.raises(AttributeError):
        profile.health = 3.0  # type: ignore[misc]


def test_true_default_probability_is_the_documented_logistic():
    profile = firm_profile(synthetic_uscc(2))
    expected = 1 / (1 + math.exp(-(-2.8 - 1.3 * profile.health)))
    assert true_default_probability(profile) == pytest.approx(expected)


# --- Determinism and stability -----------------------------------------------------------


def test_same_uscc_gives_identical_records_in_every_category():
    uscc = synthetic_uscc(42)
    first = _all_records(uscc, AS_OF)
    firm_profile.cache_clear()  # regenerate the profile too, not just reuse it
    second = _all_records(uscc, AS_OF)
    assert first == second
    assert sum(len(records) for records in first.values()) > 100


def test_records_are_identical_in_a_fresh_process():
    """Rules out anything seeded by Python's per-process salted hash()."""
    uscc = synthetic_uscc(7)
    script = (
        "import django, json, datetime as dt; django.setup();"
        "from creditdata.synthetic import records_for, firm_profile;"
        f"u = {uscc!r}; d = dt.date(2026, 6, 15);"
        "from creditdata.categories import Category;"
        "print(json.dumps({'health': firm_profile(u).health, 'records': "
        "{c.value: records_for(u, c.value, d) for c in Category}}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PYTHONHASHSEED": "4242",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    other = json.loads(result.stdout.strip().splitlines()[-1])
    assert other["health"] == firm_profile(uscc).health
    assert other["records"] == _all_records(uscc, AS_OF)


def _assert_only_moved_forward(category: str, before: dict, after: dict) -> None:
    open_values = LIFECYCLE_OPEN.get(category, {})
    for name, value in before.items():
        if after[name] == value:
            continue
        assert name in open_values, (
            f"{before['id']}.{name} changed: {value} → {after[name]}"
        )
        assert value == open_values[name], f"{before['id']}.{name} moved backwards"
        if isinstance(after[name], str) and name.endswith("_on"):
            assert AS_OF.isoformat() < after[name] <= LATER.isoformat()


@pytest.mark.parametrize("index", range(0, 400, 8))
def test_records_do_not_change_when_as_of_moves_later(index):
    uscc = synthetic_uscc(index)
    window_start = _month(dt.date(LATER.year - 3, LATER.month, 1))
    for category in CATEGORIES:
        earlier = records_for(uscc, category, AS_OF)
        later = records_for(uscc, category, LATER)
        if category in MONTHLY_CATEGORIES:
            # The 36-month window slides: months that fell out of it are the only loss.
            earlier = [r for r in earlier if r["period"] >= window_start]
        later_by_id = {record["id"]: record for record in later}
        assert set(later_by_id) >= {record["id"] for record in earlier}
        # What is dated up to the earlier as_of is exactly what the earlier call saw.
        if category in MONTHLY_CATEGORIES:
            known_then = [r for r in later if r["period"] < _month(AS_OF)]
        else:
            known_then = [r for r in later if _primary_date(r) <= AS_OF.isoformat()]
        assert [r["id"] for r in known_then] == [r["id"] for r in earlier]
        for record in earlier:
            _assert_only_moved_forward(category, record, later_by_id[record["id"]])


def test_monthly_records_do_not_change_within_a_month():
    uscc = synthetic_uscc(11)
    for category in MONTHLY_CATEGORIES:
        assert records_for(uscc, category, dt.date(2026, 6, 1)) == records_for(
            uscc, category, dt.date(2026, 6, 30)
        )


# --- Shape and cut-off -------------------------------------------------------------------


def _check_records(uscc: str, as_of: dt.date) -> None:
    profile = firm_profile(uscc)
    every_id: set[str] = set()
    for category, records in _all_records(uscc, as_of).items():
        field_names = ["id", "category"] + [
            spec.name for spec in RECORD_FIELDS[category]
        ]
        dates = []
        for record in records:
            assert list(record) == field_names
            source_id, _ = parse_record(category, record)
            assert source_id not in every_id
            every_id.add(source_id)
            for spec in RECORD_FIELDS[category]:
                value = record[spec.name]
                if value is None:
                    continue
                if spec.kind == "date":
                    assert value <= as_of.isoformat(), (source_id, spec.name)
                if spec.kind == "month":
                    assert value < _month(as_of), (source_id, spec.name)
                    assert value >= _month(profile.founded_on)
            dates.append(_primary_date(record))
        assert dates == sorted(dates), f"{category} not ordered by date"
        if as_of < profile.founded_on:
            assert records == []


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=10**9),
    as_of=st.dates(min_value=dt.date(1998, 1, 1), max_value=dt.date(2035, 12, 31)),
)
def test_nothing_is_dated_after_as_of_and_every_record_parses(index, as_of):
    _check_records(synthetic_uscc(index), as_of)


@settings(max_examples=25, deadline=None)
@given(
    first_17=st.text(
        alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=17, max_size=17
    )
)
def test_any_valid_uscc_has_valid_records(first_17):
    code = make_uscc(first_17[:2] + "440305" + first_17[8:])
    _check_records(code, dt.date(2026, 3, 10))


def test_series_cover_the_last_36_closed_months():
    as_of = dt.date(2026, 6, 15)
    for index in range(40):
        profile = firm_profile(synthetic_uscc(index))
        if profile.founded_on > dt.date(2023, 1, 1) or profile.revoked_on is not None:
            continue
        periods = [r["period"] for r in records_for(profile.uscc, "tax", as_of)]
        assert periods[0] == "2023-06" and periods[-1] == "2026-05"
        assert len(periods) == len(set(periods)) == 36
        return
    pytest.fail("no firm founded before 2023 among the first 40")


def test_registration_is_one_record_with_the_profile():
    profile = firm_profile(synthetic_uscc(3))
    (record,) = records_for(profile.uscc, "registration", AS_OF)
    assert record["name"] == profile.name
    assert record["founded_on"] == profile.founded_on.isoformat()
    assert record["registered_capital"] == f"{profile.registered_capital}.00"
    assert record["status"] in {"active", "revoked"}


def test_utilities_have_electricity_and_water_every_month_and_gas_only_where_used():
    for index in range(60):
        profile = firm_profile(synthetic_uscc(index))
        records = records_for(profile.uscc, "utilities", AS_OF)
        by_month: dict[str, set[str]] = {}
        for record in records:
            by_month.setdefault(record["period"], set()).add(record["utility"])
        for utilities in by_month.values():
            assert {"electricity", "water"} <= utilities
            if profile.industry not in {"C", "H"}:
                assert "gas" not in utilities


def test_customs_only_for_firms_that_trade_abroad():
    for index in range(60):
        profile = firm_profile(synthetic_uscc(index))
        records = records_for(profile.uscc, "customs", AS_OF)
        assert bool(records) == (profile.trades_abroad and profile.founded_on < AS_OF)


def test_housing_fund_contributors_never_exceed_headcount():
    for index in range(60):
        uscc = synthetic_uscc(index)
        headcount = {
            r["period"]: r["headcount"]
            for r in records_for(uscc, "social_insurance", AS_OF)
        }
        for record in records_for(uscc, "housing_fund", AS_OF):
            assert 0 <= record["contributors"] <= headcount[record["period"]]


def test_licences_have_no_amount_or_severity():
    seen = 0
    for index in range(100):
        for record in records_for(synthetic_uscc(index), "administrative", AS_OF):
            if record["record_type"] == "licence":
                seen += 1
                assert record["amount"] is None and record["severity"] is None
                assert record["repaired"] is False
            else:
                assert record["amount"] is not None and record["severity"] is not None
                assert (record["repaired_on"] is not None) == record["repaired"]
                if record["repaired_on"]:
                    assert record["repaired_on"] > record["decided_on"]
    assert seen > 0


def test_unknown_category_is_refused():
    with pytest.raises(ValueError, match="unknown category"):
        records_for(synthetic_uscc(0), "weather", AS_OF)


# --- Population --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    rows = []
    as_of = dt.date(2026, 6, 30)
    for index in range(1000):
        uscc = synthetic_uscc(index)
        profile = firm_profile(uscc)
        court = records_for(uscc, "court", as_of)
        administrative = records_for(uscc, "administrative", as_of)
        tax = records_for(uscc, "tax", as_of)
        rows.append(
            {
                "health": profile.health,
                "pd": true_default_probability(profile),
                "defaulted": simulated_default(profile),
                "enforcement": any(r["record_type"] == "enforcement" for r in court),
                "dishonest": any(r["dishonest_debtor"] for r in court),
                "penalties": sum(r["record_type"] == "penalty" for r in administrative),
                "tax_paid": sum(float(r["tax_paid"]) for r in tax),
                "trades": profile.trades_abroad,
            }
        )
    return pd.DataFrame(rows)


def test_mean_pd_is_realistic(population):
    assert 0.06 <= population["pd"].mean() <= 0.14
    assert 0.05 <= population["defaulted"].mean() <= 0.16


def test_court_enforcement_and_dishonest_debtor_shares(population):
    assert 0.02 <= population["enforcement"].mean() <= 0.10
    assert 0.003 <= population["dishonest"].mean() <= 0.03
    assert not (population["dishonest"] & ~population["enforcement"]).any()


def test_weak_firms_have_more_penalties_than_strong_ones(population):
    weak = population.loc[population["health"] < -1, "penalties"].mean()
    strong = population.loc[population["health"] > 1, "penalties"].mean()
    assert weak > 3 * strong
    assert 0.8 <= weak <= 3.5


def test_tax_paid_rises_with_health(population):
    assert population["tax_paid"].corr(population["health"], method="spearman") > 0.15


def test_about_a_quarter_of_firms_trade_abroad(population):
    assert 0.15 <= population["trades"].mean() <= 0.35
