"""Calendar months with ``relativedelta``: the same dates as the hand-written rule it
replaced (a day past the end of the target month is clamped to its last day)."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError

from borrowers.models import MAX_CONSENT_MONTHS, CreditAuthorization

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _old_add_months(moment, months: int):
    """``borrowers.models._add_months`` as it was, kept here as the reference."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2024, 2, 29), 12, dt.date(2025, 2, 28)),
        (dt.date(2023, 2, 28), 12, dt.date(2024, 2, 28)),
        (dt.date(2025, 3, 31), 1, dt.date(2025, 4, 30)),
        (dt.date(2025, 8, 31), 6, dt.date(2026, 2, 28)),
        (dt.date(2025, 12, 31), 2, dt.date(2026, 2, 28)),
        (dt.date(2025, 5, 15), 12, dt.date(2026, 5, 15)),
    ],
)
def test_month_ends_are_clamped_as_before(start, months, expected):
    assert start + relativedelta(months=months) == expected
    assert _old_add_months(start, months) == expected


def test_every_day_of_four_years_and_every_consent_length_agrees():
    start = dt.datetime(2023, 1, 1, 23, 59, 59, 999_999, tzinfo=dt.UTC)
    for offset in range(4 * 366):
        moment = start + dt.timedelta(days=offset)
        local = moment.astimezone(SHANGHAI)
        for months in range(1, MAX_CONSENT_MONTHS + 1):
            for value in (moment, local, moment.date()):
                new = value + relativedelta(months=months)
                assert new == _old_add_months(value, months), (value, months)
                assert type(new) is type(value)
                assert getattr(new, "tzinfo", None) is getattr(value, "tzinfo", None)


def _consent(valid_from: dt.datetime, valid_to: dt.datetime) -> CreditAuthorization:
    return CreditAuthorization(scope=["tax"], valid_from=valid_from, valid_to=valid_to)


@pytest.mark.parametrize(
    ("valid_from", "last_valid_to"),
    [
        (
            dt.datetime(2024, 2, 29, 10, tzinfo=dt.UTC),
            dt.datetime(2025, 2, 28, 10, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(2025, 1, 31, 8, tzinfo=SHANGHAI),
            dt.datetime(2026, 1, 31, 8, tzinfo=SHANGHAI),
        ),
    ],
)
def test_a_consent_may_last_twelve_calendar_months_and_not_a_second_more(
    valid_from, last_valid_to
):
    _consent(valid_from, last_valid_to).clean()
    with pytest.raises(ValidationError) as error:
        _consent(valid_from, last_valid_to + dt.timedelta(seconds=1)).clean()
    assert list(error.value.message_dict) == ["valid_to"]


def test_synthetic_ip_expiry_years_agree_with_the_date_constructor():
    # ``creditdata.synthetic`` files an IP right on day 1–28, so adding years never
    # needs clamping; relativedelta gives the date the constructor built.
    for year in range(1990, 2026):
        for month in range(1, 13):
            for day in (1, 15, 28):
                filed = dt.date(year, month, day)
                for term in (10, 15, 20):
                    assert filed + relativedelta(years=term) == dt.date(
                        filed.year + term, filed.month, filed.day
                    )
