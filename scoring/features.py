"""Credit features computed from public credit records *as of a date*.

Everything is vectorized over enterprises with pandas: the input is one DataFrame per
category (rows = records, with an ``enterprise`` column) and one as-of date per
enterprise; the output is one row per enterprise and one column per ``FEATURES``
entry. A record is used only if its own date is on or before the enterprise's as-of
date, and a later change to it (a repair, a conclusion, a removal from a list) counts
only if that too happened by then: a score can be reproduced later, and training on
past vintages never sees the future.

Monthly windows are *complete* months before the as-of month: "last 12 months" of an
as-of date in June 2025 are June 2024 … May 2025.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from django.utils import translation
from django.utils.functional import Promise, lazy
from django.utils.translation import pgettext_lazy

from core.codes import Category
from creditdata.categories import RECORD_FIELDS

#: The languages of ``Feature.label_zh``/``label_en`` and of the reasons' ``*_zh`` and
#: ``*_en`` keys (codes of ``settings.LANGUAGES``).
LANGUAGE_ZH = "zh-hans"
LANGUAGE_EN = "en"


def translated(text: str | Promise, language: str | None = None) -> str:
    """``text`` (a lazily translated string) in ``language``, or in the active
    language if none is given."""
    if language is None:
        return str(text)
    with translation.override(language):
        return str(text)


#: ``message % values``, formatted when the text is read (so in the language active
#: then, not in the one active when this module was imported).
_interpolate = lazy(lambda message, values: str(message) % values, str)


@dataclass(frozen=True)
class Feature:
    """One model input. ``direction`` is its monotone constraint on the probability of
    default: +1 more of it never lowers risk, −1 never raises it, 0 unconstrained.
    ``label`` is translated when read (``str(feature.label)``: the active language)."""

    name: str
    direction: int
    group: str
    label: str | Promise

    @property
    def label_zh(self) -> str:
        return translated(self.label, LANGUAGE_ZH)

    @property
    def label_en(self) -> str:
        return translated(self.label, LANGUAGE_EN)


#: Business factors that reasons are grouped by, with their (lazily translated)
#: labels: ``translated(GROUPS[group], language)``.
GROUPS = {
    "registration": pgettext_lazy(
        "credit factor", "Years in business and registered capital"
    ),
    "tax": pgettext_lazy("credit factor", "Tax"),
    "employment": pgettext_lazy("credit factor", "Social insurance"),
    "housing_fund": pgettext_lazy("credit factor", "Housing provident fund"),
    "utilities": pgettext_lazy("credit factor", "Utilities"),
    "customs": pgettext_lazy("credit factor", "Customs"),
    "innovation": pgettext_lazy("credit factor", "Intellectual property"),
    "penalties": pgettext_lazy("credit factor", "Administrative penalties"),
    "court": pgettext_lazy("credit factor", "Court records"),
    "abnormal": pgettext_lazy("credit factor", "Abnormal operation"),
    "honours": pgettext_lazy("credit factor", "Honours and commitments"),
    "industry": pgettext_lazy("credit factor", "Industry"),
}

INDUSTRY_SECTIONS = ("C", "E", "F", "G", "H", "I", "L", "M")

FEATURES: tuple[Feature, ...] = (
    Feature(
        "years_in_business",
        -1,
        "registration",
        pgettext_lazy("credit feature", "years in business"),
    ),
    Feature(
        "registered_capital_log",
        -1,
        "registration",
        pgettext_lazy("credit feature", "registered capital (log)"),
    ),
    Feature(
        "tax_paid_12m_log",
        -1,
        "tax",
        pgettext_lazy("credit feature", "tax paid, last 12 months (log)"),
    ),
    Feature(
        "tax_paid_24m_log",
        -1,
        "tax",
        pgettext_lazy("credit feature", "tax paid, last 24 months (log)"),
    ),
    Feature(
        "tax_trend_12m",
        -1,
        "tax",
        pgettext_lazy("credit feature", "tax paid, change on the year before (log)"),
    ),
    Feature(
        "tax_per_employee_log",
        -1,
        "tax",
        pgettext_lazy("credit feature", "tax paid per employee (log)"),
    ),
    Feature(
        "tax_credit_grade",
        -1,
        "tax",
        pgettext_lazy("credit feature", "tax credit grade (A=4 … D=0)"),
    ),
    Feature(
        "tax_credit_grade_avg_24m",
        -1,
        "tax",
        pgettext_lazy("credit feature", "average tax credit grade, last 24 months"),
    ),
    Feature(
        "tax_arrears_months_12m",
        1,
        "tax",
        pgettext_lazy("credit feature", "months with tax arrears, last 12"),
    ),
    Feature(
        "tax_arrears_months_24m",
        1,
        "tax",
        pgettext_lazy("credit feature", "months with tax arrears, last 24"),
    ),
    Feature(
        "tax_zero_months_12m",
        1,
        "tax",
        pgettext_lazy("credit feature", "months with no tax paid, last 12"),
    ),
    Feature(
        "headcount_log",
        0,
        "employment",
        pgettext_lazy("credit feature", "insured headcount (log)"),
    ),
    Feature(
        "headcount_change_12m",
        -1,
        "employment",
        pgettext_lazy("credit feature", "headcount change over 12 months (log)"),
    ),
    Feature(
        "headcount_change_24m",
        -1,
        "employment",
        pgettext_lazy("credit feature", "headcount change over 24 months (log)"),
    ),
    Feature(
        "social_arrears_months_12m",
        1,
        "employment",
        pgettext_lazy(
            "credit feature", "months with social-insurance arrears, last 12"
        ),
    ),
    Feature(
        "social_arrears_months_24m",
        1,
        "employment",
        pgettext_lazy(
            "credit feature", "months with social-insurance arrears, last 24"
        ),
    ),
    Feature(
        "housing_fund_enrolled",
        -1,
        "housing_fund",
        pgettext_lazy("credit feature", "pays into the housing fund"),
    ),
    Feature(
        "housing_fund_coverage",
        -1,
        "housing_fund",
        pgettext_lazy(
            "credit feature", "housing-fund contributors per insured employee"
        ),
    ),
    Feature(
        "housing_fund_late_months_12m",
        1,
        "housing_fund",
        pgettext_lazy("credit feature", "months of late housing-fund payment, last 12"),
    ),
    Feature(
        "electricity_trend_12m",
        -1,
        "utilities",
        pgettext_lazy(
            "credit feature", "electricity use, change on the year before (log)"
        ),
    ),
    Feature(
        "utility_arrears_months_12m",
        1,
        "utilities",
        pgettext_lazy("credit feature", "months with utility arrears, last 12"),
    ),
    Feature(
        "customs_volume_12m_log",
        -1,
        "customs",
        pgettext_lazy("credit feature", "imports and exports, last 12 months (log)"),
    ),
    Feature(
        "customs_per_employee_log",
        -1,
        "customs",
        pgettext_lazy("credit feature", "imports and exports per employee (log)"),
    ),
    Feature(
        "patents_count", -1, "innovation", pgettext_lazy("credit feature", "patents")
    ),
    Feature(
        "trademarks_count",
        -1,
        "innovation",
        pgettext_lazy("credit feature", "trademarks"),
    ),
    Feature(
        "penalties_24m",
        1,
        "penalties",
        pgettext_lazy("credit feature", "administrative penalties, last 24 months"),
    ),
    Feature(
        "serious_penalties_36m",
        1,
        "penalties",
        pgettext_lazy("credit feature", "serious penalties, last 36 months"),
    ),
    Feature(
        "unrepaired_penalties",
        1,
        "penalties",
        pgettext_lazy("credit feature", "penalties not yet repaired"),
    ),
    Feature(
        "months_since_last_penalty",
        -1,
        "penalties",
        pgettext_lazy("credit feature", "months since the last penalty"),
    ),
    Feature(
        "penalties_per_year",
        1,
        "penalties",
        pgettext_lazy(
            "credit feature", "administrative penalties per year in business"
        ),
    ),
    Feature(
        "court_judgements_36m",
        1,
        "court",
        pgettext_lazy("credit feature", "court judgements, last 36 months"),
    ),
    Feature(
        "court_enforcements_36m",
        1,
        "court",
        pgettext_lazy("credit feature", "enforcement cases, last 36 months"),
    ),
    Feature(
        "court_cases_per_year",
        1,
        "court",
        pgettext_lazy("credit feature", "court cases per year in business"),
    ),
    Feature(
        "dishonest_debtor",
        1,
        "court",
        pgettext_lazy("credit feature", "listed as a dishonest judgement debtor"),
    ),
    Feature(
        "abnormal_listed_now",
        1,
        "abnormal",
        pgettext_lazy("credit feature", "currently on the abnormal-operation list"),
    ),
    Feature(
        "abnormal_listings",
        1,
        "abnormal",
        pgettext_lazy("credit feature", "times listed as abnormal"),
    ),
    Feature(
        "honours_count",
        -1,
        "honours",
        pgettext_lazy("credit feature", "honours and red-list entries"),
    ),
    Feature(
        "honours_per_year",
        -1,
        "honours",
        pgettext_lazy("credit feature", "honours per year in business"),
    ),
    Feature(
        "credit_commitments_count",
        -1,
        "honours",
        pgettext_lazy("credit feature", "credit commitments made"),
    ),
    *(
        Feature(
            f"industry_{section}",
            0,
            "industry",
            _interpolate(
                pgettext_lazy("credit feature", "industry section %(section)s"),
                {"section": section},
            ),
        )
        for section in INDUSTRY_SECTIONS
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
FEATURE_BY_NAME = {feature.name: feature for feature in FEATURES}

#: Raise when what a feature *means* changes without its name changing (a new window,
#: a new rule for which records count): stored feature vectors of the old revision
#: are then no longer used for scoring.
FEATURES_REVISION = 1
#: Identifies the feature list and its definitions: a stored feature vector is used
#: only by code of the same feature set (see ``scoring.models.FeatureVector``).
FEATURE_SET = hashlib.sha256(
    f"{FEATURES_REVISION}:{','.join(FEATURE_NAMES)}".encode()
).hexdigest()[:16]

#: The date that places each record in time (it must be ≤ as-of to be used).
PRIMARY_DATE: dict[str, str] = {
    Category.REGISTRATION: "founded_on",
    Category.TAX: "period",
    Category.SOCIAL_INSURANCE: "period",
    Category.HOUSING_FUND: "period",
    Category.UTILITIES: "period",
    Category.CUSTOMS: "period",
    Category.INTELLECTUAL_PROPERTY: "granted_on",
    Category.ADMINISTRATIVE: "decided_on",
    Category.COURT: "filed_on",
    Category.ABNORMAL_OPERATION: "listed_on",
    Category.HONOURS: "awarded_on",
    Category.CREDIT_COMMITMENTS: "made_on",
}

GRADE_POINTS = {"A": 4.0, "B": 3.0, "M": 2.0, "C": 1.0, "D": 0.0}

#: The record fields ``build_features`` reads, per category; it sees no other field
#: (reading one not listed here is a KeyError), so a reader may fetch only these.
FEATURE_INPUTS: dict[str, tuple[str, ...]] = {
    Category.REGISTRATION: ("founded_on", "registered_capital", "industry"),
    Category.TAX: ("period", "tax_paid", "arrears", "credit_grade"),
    Category.SOCIAL_INSURANCE: ("period", "headcount", "arrears"),
    Category.HOUSING_FUND: ("period", "contributors", "paid_on_time"),
    Category.UTILITIES: ("period", "utility", "usage", "arrears"),
    Category.CUSTOMS: ("period", "imports", "exports"),
    Category.INTELLECTUAL_PROPERTY: ("ip_type", "granted_on"),
    Category.ADMINISTRATIVE: ("record_type", "decided_on", "severity", "repaired_on"),
    Category.COURT: ("record_type", "filed_on", "dishonest_debtor", "concluded_on"),
    Category.ABNORMAL_OPERATION: ("listed_on", "removed_on"),
    Category.HONOURS: ("awarded_on",),
    Category.CREDIT_COMMITMENTS: ("made_on",),
}


def empty_frame(category: str) -> pd.DataFrame:
    columns = ["enterprise", *(spec.name for spec in RECORD_FIELDS[category])]
    return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})


def _prepare(frame: pd.DataFrame, category: str, as_of: pd.Series) -> pd.DataFrame:
    """Typed columns, the enterprise's as-of date joined, records after it dropped, and
    lifecycle dates after it blanked (a repair in the future has not happened yet)."""
    inputs = FEATURE_INPUTS[category]
    specs = [spec for spec in RECORD_FIELDS[category] if spec.name in inputs]
    # Only the fields read below (a copy; a missing one is all NaN).
    frame = frame.reindex(columns=["enterprise", *inputs])
    for spec in specs:
        # (A column already of the type, as the database reader makes it, is kept.)
        dtype = frame[spec.name].dtype
        if spec.kind in ("date", "month") and dtype.kind != "M":
            frame[spec.name] = pd.to_datetime(frame[spec.name], errors="coerce")
        elif spec.kind in ("decimal", "int") and dtype != np.float64:
            frame[spec.name] = pd.to_numeric(frame[spec.name], errors="coerce").astype(
                float
            )
    frame["as_of"] = frame["enterprise"].map(as_of)
    frame = frame[frame["as_of"].notna()]
    primary = PRIMARY_DATE[category]
    frame = frame[frame[primary] <= frame["as_of"]]
    for spec in specs:
        if spec.kind == "date" and spec.name != primary:
            later = frame[spec.name] > frame["as_of"]
            frame[spec.name] = frame[spec.name].mask(later)  # NaT where later
    if primary == "period":
        as_of_month = frame["as_of"].dt.year * 12 + frame["as_of"].dt.month
        period_month = frame["period"].dt.year * 12 + frame["period"].dt.month
        frame["months_back"] = as_of_month - period_month
    return frame


#: ``_prepare`` of a category with no records, by as-of dtype: it has no rows, so it
#: depends on nothing else, and typing empty object columns costs about a millisecond
#: a category — most of an enterprise's categories are empty when it is scored alone.
_EMPTY_PREPARED: dict[tuple[str, str], pd.DataFrame] = {}


def _prepared_empty(category: str, as_of: pd.Series) -> pd.DataFrame:
    key = (category, str(as_of.dtype))
    prepared = _EMPTY_PREPARED.get(key)
    if prepared is None:
        prepared = _prepare(empty_frame(category), category, as_of)
        _EMPTY_PREPARED[key] = prepared
    return prepared.copy()  # callers add columns to it


def _sum_in(frame: pd.DataFrame, column: str, low: int, high: int) -> pd.Series:
    window = frame[(frame["months_back"] >= low) & (frame["months_back"] <= high)]
    return window.groupby("enterprise")[column].sum()


def _count_in(frame: pd.DataFrame, mask: pd.Series, low: int, high: int) -> pd.Series:
    window = frame[
        mask & (frame["months_back"] >= low) & (frame["months_back"] <= high)
    ]
    return window.groupby("enterprise").size()


def _months_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.days / 30.4375


def build_features(
    frames: Mapping[str, pd.DataFrame], as_of: pd.Series
) -> pd.DataFrame:
    """One row per enterprise in ``as_of`` (index: enterprise key), ``FEATURE_NAMES``
    columns, ``float64``; NaN where a feature is not observable (e.g. no tax records)."""
    as_of = pd.to_datetime(as_of).dt.normalize()
    index = as_of.index
    # Columns are collected, and the frame built once at the end (inserting them one
    # by one into a DataFrame costs more than computing most of them).
    out: dict[str, pd.Series | np.ndarray] = {}

    def frame_of(category: str) -> pd.DataFrame:
        frame = frames.get(category)
        if frame is None or frame.empty:
            return _prepared_empty(category, as_of)
        return _prepare(frame, category, as_of)

    def put(name: str, values: pd.Series, fill: float | None = None) -> None:
        column = values.reindex(index).astype("float64")
        out[name] = column if fill is None else column.fillna(fill)

    # Registration.
    reg = (
        frame_of(Category.REGISTRATION)
        .drop_duplicates("enterprise", keep="last")
        .set_index("enterprise")
    )
    put("years_in_business", _months_between(reg["as_of"], reg["founded_on"]) / 12)
    put("registered_capital_log", np.log1p(reg["registered_capital"]))
    industry = reg["industry"].reindex(index)
    for section in INDUSTRY_SECTIONS:
        out[f"industry_{section}"] = np.where(
            industry.isna(), np.nan, (industry == section).astype(float)
        )

    # Tax.
    tax = frame_of(Category.TAX)
    has_tax = pd.Series(1.0, index=tax["enterprise"].unique())
    paid_12 = _sum_in(tax, "tax_paid", 1, 12)
    paid_prev = _sum_in(tax, "tax_paid", 13, 24)
    put("tax_paid_12m_log", np.log1p(paid_12.reindex(has_tax.index, fill_value=0.0)))
    put(
        "tax_paid_24m_log",
        np.log1p(
            (paid_12.add(paid_prev, fill_value=0.0)).reindex(
                has_tax.index, fill_value=0.0
            )
        ),
    )
    both = paid_12.index.intersection(paid_prev.index)
    put("tax_trend_12m", np.log1p(paid_12[both]) - np.log1p(paid_prev[both]))
    latest_grade = (
        tax.dropna(subset=["credit_grade"])
        .sort_values("period")
        .groupby("enterprise")["credit_grade"]
        .last()
    )
    put("tax_credit_grade", latest_grade.map(GRADE_POINTS))
    graded = tax[(tax["months_back"] >= 1) & (tax["months_back"] <= 24)].copy()
    graded["points"] = graded["credit_grade"].map(GRADE_POINTS)
    put("tax_credit_grade_avg_24m", graded.groupby("enterprise")["points"].mean())
    put(
        "tax_arrears_months_12m",
        _count_in(tax, tax["arrears"] > 0, 1, 12).reindex(has_tax.index, fill_value=0),
    )
    put(
        "tax_arrears_months_24m",
        _count_in(tax, tax["arrears"] > 0, 1, 24).reindex(has_tax.index, fill_value=0),
    )
    put(
        "tax_zero_months_12m",
        _count_in(tax, tax["tax_paid"] <= 0, 1, 12).reindex(
            has_tax.index, fill_value=0
        ),
    )

    # Social insurance.
    social = frame_of(Category.SOCIAL_INSURANCE)
    recent = social[(social["months_back"] >= 1) & (social["months_back"] <= 12)]
    latest = (
        recent.sort_values("months_back").groupby("enterprise")["headcount"].first()
    )
    year_ago = (
        social[social["months_back"] == 13].groupby("enterprise")["headcount"].first()
    )
    put("headcount_log", np.log1p(latest))
    common = latest.index.intersection(year_ago.index)
    put("headcount_change_12m", np.log1p(latest[common]) - np.log1p(year_ago[common]))
    two_years_ago = (
        social[social["months_back"] == 25].groupby("enterprise")["headcount"].first()
    )
    common = latest.index.intersection(two_years_ago.index)
    put(
        "headcount_change_24m",
        np.log1p(latest[common]) - np.log1p(two_years_ago[common]),
    )
    has_social = pd.Series(1.0, index=social["enterprise"].unique())
    put(
        "social_arrears_months_12m",
        _count_in(social, social["arrears"] > 0, 1, 12).reindex(
            has_social.index, fill_value=0
        ),
    )
    put(
        "social_arrears_months_24m",
        _count_in(social, social["arrears"] > 0, 1, 24).reindex(
            has_social.index, fill_value=0
        ),
    )
    avg_headcount = recent.groupby("enterprise")["headcount"].mean()
    put(
        "tax_per_employee_log",
        np.log1p(
            paid_12.reindex(avg_headcount.index, fill_value=0.0)
            / avg_headcount.clip(lower=1)
        ),
    )

    # Housing fund.
    housing = frame_of(Category.HOUSING_FUND)
    housing_recent = housing[
        (housing["months_back"] >= 1) & (housing["months_back"] <= 12)
    ]
    enrolled = pd.Series(1.0, index=housing_recent["enterprise"].unique())
    put(
        "housing_fund_enrolled",
        enrolled.reindex(has_social.index.union(enrolled.index), fill_value=0.0),
    )
    contributors = (
        housing_recent.sort_values("months_back")
        .groupby("enterprise")["contributors"]
        .first()
    )
    coverage = (contributors / latest.reindex(contributors.index).clip(lower=1)).clip(
        upper=2
    )
    # An employer with insured staff and no housing-fund account covers nobody.
    put(
        "housing_fund_coverage",
        coverage.reindex(latest.index.union(coverage.index), fill_value=0.0),
    )
    put(
        "housing_fund_late_months_12m",
        _count_in(housing, housing["paid_on_time"].eq(False), 1, 12).reindex(
            enrolled.index, fill_value=0
        ),
    )

    # Utilities.
    utilities = frame_of(Category.UTILITIES)
    electricity = utilities[utilities["utility"] == "electricity"]
    use_12 = _sum_in(electricity, "usage", 1, 12)
    use_prev = _sum_in(electricity, "usage", 13, 24)
    common = use_12.index.intersection(use_prev.index)
    put("electricity_trend_12m", np.log1p(use_12[common]) - np.log1p(use_prev[common]))
    has_utilities = pd.Series(1.0, index=utilities["enterprise"].unique())
    arrears_months = (
        utilities[
            (utilities["arrears"] > 0)
            & (utilities["months_back"] >= 1)
            & (utilities["months_back"] <= 12)
        ]
        .groupby("enterprise")["months_back"]
        .nunique()
    )
    put(
        "utility_arrears_months_12m",
        arrears_months.reindex(has_utilities.index, fill_value=0),
    )

    # Customs: no records means no trade, a volume of zero.
    customs = frame_of(Category.CUSTOMS)
    customs["volume"] = customs["imports"].fillna(0) + customs["exports"].fillna(0)
    volume_12 = _sum_in(customs, "volume", 1, 12)
    put("customs_volume_12m_log", np.log1p(volume_12), fill=0.0)
    per_head = volume_12.reindex(
        avg_headcount.index, fill_value=0.0
    ) / avg_headcount.clip(lower=1)
    put("customs_per_employee_log", np.log1p(per_head))

    # Intellectual property (granted by the as-of date).
    ip = frame_of(Category.INTELLECTUAL_PROPERTY)
    put(
        "patents_count",
        ip[ip["ip_type"] != "trademark"].groupby("enterprise").size(),
        fill=0.0,
    )
    put(
        "trademarks_count",
        ip[ip["ip_type"] == "trademark"].groupby("enterprise").size(),
        fill=0.0,
    )

    # Administrative penalties.
    admin = frame_of(Category.ADMINISTRATIVE)
    penalties = admin[admin["record_type"] == "penalty"].copy()
    penalties["months_ago"] = _months_between(
        penalties["as_of"], penalties["decided_on"]
    )
    put(
        "penalties_24m",
        penalties[penalties["months_ago"] < 24].groupby("enterprise").size(),
        fill=0.0,
    )
    serious = penalties[
        (penalties["severity"] == "serious") & (penalties["months_ago"] < 36)
    ]
    put("serious_penalties_36m", serious.groupby("enterprise").size(), fill=0.0)
    # Repaired only if the repair date is known and not after the as-of date.
    unrepaired = penalties[penalties["repaired_on"].isna()]
    put("unrepaired_penalties", unrepaired.groupby("enterprise").size(), fill=0.0)
    put(
        "months_since_last_penalty", penalties.groupby("enterprise")["months_ago"].min()
    )
    # Event rates over the whole observed life: a steadier signal than a window count.
    years = cast(pd.Series, out["years_in_business"]).clip(lower=1.0)  # put() made it
    out["penalties_per_year"] = (
        penalties.groupby("enterprise").size().reindex(index, fill_value=0) / years
    )

    # Court.
    court = frame_of(Category.COURT).copy()
    court["months_ago"] = _months_between(court["as_of"], court["filed_on"])
    recent_court = court[court["months_ago"] < 36]
    put(
        "court_judgements_36m",
        recent_court[recent_court["record_type"] == "judgement"]
        .groupby("enterprise")
        .size(),
        fill=0.0,
    )
    put(
        "court_enforcements_36m",
        recent_court[recent_court["record_type"] == "enforcement"]
        .groupby("enterprise")
        .size(),
        fill=0.0,
    )
    out["court_cases_per_year"] = (
        court.groupby("enterprise").size().reindex(index, fill_value=0) / years
    )
    dishonest = court[
        (court["dishonest_debtor"].eq(True)) & court["concluded_on"].isna()
    ]
    put(
        "dishonest_debtor",
        pd.Series(1.0, index=dishonest["enterprise"].unique()),
        fill=0.0,
    )

    # Abnormal operation.
    abnormal = frame_of(Category.ABNORMAL_OPERATION)
    listed_now = abnormal[abnormal["removed_on"].isna()]
    put(
        "abnormal_listed_now",
        pd.Series(1.0, index=listed_now["enterprise"].unique()),
        fill=0.0,
    )
    put("abnormal_listings", abnormal.groupby("enterprise").size(), fill=0.0)

    # Honours and commitments.
    honours = frame_of(Category.HONOURS).groupby("enterprise").size()
    put("honours_count", honours, fill=0.0)
    out["honours_per_year"] = honours.reindex(index, fill_value=0) / years
    put(
        "credit_commitments_count",
        frame_of(Category.CREDIT_COMMITMENTS).groupby("enterprise").size(),
        fill=0.0,
    )
    return pd.DataFrame(
        {name: out.get(name, np.nan) for name in FEATURE_NAMES}, index=index
    ).astype("float64")


def monotone_constraints() -> tuple[int, ...]:
    """xgboost's ``monotone_constraints`` for ``FEATURE_NAMES``, in order."""
    return tuple(feature.direction for feature in FEATURES)
