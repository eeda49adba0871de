"""Reason codes: why a score is what it is, in words an SME owner understands.

xgboost's ``pred_contribs`` gives each feature's exact additive contribution to the
log-odds of default (they sum, with the bias, to the raw margin). Contributions are
summed per business factor (``features.GROUPS``); the factors that raise the log-odds
the most are the ones that lower the score, and each becomes one sentence in Chinese
and English, built from the enterprise's own feature values.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from scoring.features import FEATURE_BY_NAME, FEATURES, GROUPS

MAX_REASONS = 4


def _value(values: Mapping[str, float | None], name: str) -> float | None:
    value = values.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _int(value: float | None) -> int:
    return 0 if value is None else round(value)


def _money(log_value: float | None) -> float:
    return 0.0 if log_value is None else math.expm1(log_value)


def _pct(log_ratio: float) -> int:
    return round(abs(math.expm1(log_ratio)) * 100)


Sentence = tuple[str, str]


def _registration(v, dominant) -> Sentence:
    if dominant == "registered_capital_log":
        capital = _money(_value(v, "registered_capital_log"))
        return (
            f"注册资本{capital / 10_000:,.0f}万元，规模较小",
            f"registered capital of CNY {capital:,.0f} is small",
        )
    years = _value(v, "years_in_business")
    if years is None:
        return ("缺少工商登记信息", "no business registration record")
    return (f"经营年限{years:.1f}年，时间较短", f"only {years:.1f} years in business")


def _tax(v, dominant) -> Sentence:
    if _value(v, "tax_paid_12m_log") is None:
        return ("无纳税记录", "no tax records")
    if dominant == "tax_trend_12m" and _value(v, "tax_trend_12m") is not None:
        trend = _value(v, "tax_trend_12m")
        if trend < 0:
            return (
                f"近12个月纳税额较上年下降{_pct(trend)}%",
                f"tax paid in the last 12 months fell {_pct(trend)}% on the year before",
            )
        return (
            f"近12个月纳税额较上年仅增长{_pct(trend)}%",
            f"tax paid in the last 12 months grew only {_pct(trend)}% on the year before",
        )
    if dominant == "tax_credit_grade" and _value(v, "tax_credit_grade") is not None:
        grade = {4: "A", 3: "B", 2: "M", 1: "C", 0: "D"}[
            _int(_value(v, "tax_credit_grade"))
        ]
        return (f"纳税信用等级为{grade}级", f"tax credit grade {grade}")
    if dominant == "tax_arrears_months_12m":
        months = _int(_value(v, "tax_arrears_months_12m"))
        return (
            f"近12个月有{months}个月存在欠税",
            f"tax arrears in {months} of the last 12 months",
        )
    if dominant == "tax_zero_months_12m":
        months = _int(_value(v, "tax_zero_months_12m"))
        return (
            f"近12个月有{months}个月零纳税",
            f"no tax paid in {months} of the last 12 months",
        )
    if (
        dominant == "tax_per_employee_log"
        and _value(v, "tax_per_employee_log") is not None
    ):
        per_head = _money(_value(v, "tax_per_employee_log"))
        return (
            f"近12个月人均纳税{per_head:,.0f}元，偏低",
            f"tax paid per employee of CNY {per_head:,.0f} in the last 12 months is low",
        )
    paid = _money(_value(v, "tax_paid_12m_log"))
    return (
        f"近12个月纳税{paid:,.0f}元，偏低",
        f"CNY {paid:,.0f} tax paid in the last 12 months is low",
    )


def _employment(v, dominant) -> Sentence:
    if dominant == "social_arrears_months_12m":
        months = _int(_value(v, "social_arrears_months_12m"))
        return (
            f"近12个月有{months}个月社保欠费",
            f"social-insurance arrears in {months} of the last 12 months",
        )
    change = _value(v, "headcount_change_12m")
    if change is None:
        return (
            "社保参保记录不足12个月",
            "less than 12 months of social-insurance records",
        )
    if change < 0:
        return (
            f"参保人数12个月内减少{_pct(change)}%",
            f"insured headcount fell {_pct(change)}% over 12 months",
        )
    return (
        f"参保人数12个月内仅增长{_pct(change)}%",
        f"insured headcount grew only {_pct(change)}% over 12 months",
    )


def _housing_fund(v, dominant) -> Sentence:
    if not _value(v, "housing_fund_enrolled"):
        return ("未缴存住房公积金", "does not pay into the housing provident fund")
    if dominant == "housing_fund_late_months_12m":
        months = _int(_value(v, "housing_fund_late_months_12m"))
        return (
            f"近12个月有{months}个月住房公积金逾期缴存",
            f"late housing-fund payment in {months} of the last 12 months",
        )
    coverage = _value(v, "housing_fund_coverage") or 0.0
    return (
        f"住房公积金覆盖{coverage:.0%}的参保职工",
        f"the housing fund covers {coverage:.0%} of insured employees",
    )


def _utilities(v, dominant) -> Sentence:
    if dominant == "utility_arrears_months_12m":
        months = _int(_value(v, "utility_arrears_months_12m"))
        return (
            f"近12个月有{months}个月水电气欠费",
            f"utility arrears in {months} of the last 12 months",
        )
    trend = _value(v, "electricity_trend_12m")
    if trend is None:
        return ("用电记录不足24个月", "less than 24 months of electricity records")
    if trend < 0:
        return (
            f"用电量较上年下降{_pct(trend)}%",
            f"electricity use fell {_pct(trend)}% on the year before",
        )
    return (
        f"用电量较上年仅增长{_pct(trend)}%",
        f"electricity use grew only {_pct(trend)}% on the year before",
    )


def _customs(v, dominant) -> Sentence:
    volume = _money(_value(v, "customs_volume_12m_log"))
    if volume <= 0:
        return ("近12个月无进出口业务", "no imports or exports in the last 12 months")
    return (
        f"近12个月进出口额{volume:,.0f}元",
        f"CNY {volume:,.0f} of imports and exports in the last 12 months",
    )


def _innovation(v, dominant) -> Sentence:
    patents, marks = (
        _int(_value(v, "patents_count")),
        _int(_value(v, "trademarks_count")),
    )
    return (
        f"拥有专利{patents}项、商标{marks}件",
        f"{patents} patents and {marks} trademarks",
    )


def _penalties(v, dominant) -> Sentence:
    count = _int(_value(v, "penalties_24m"))
    unrepaired = _int(_value(v, "unrepaired_penalties"))
    serious = _int(_value(v, "serious_penalties_36m"))
    zh, en = [], []
    if count:
        zh.append(f"近24个月行政处罚{count}次")
        en.append(
            f"{count} administrative penalt{'y' if count == 1 else 'ies'} in the last 24 months"
        )
    if unrepaired:
        zh.append(f"{unrepaired}次处罚尚未完成信用修复")
        en.append(
            f"{unrepaired} penalt{'y' if unrepaired == 1 else 'ies'} not yet repaired"
        )
    if serious:
        zh.append(f"近36个月严重处罚{serious}次")
        en.append(f"{serious} serious in the last 36 months")
    if not zh:
        months = _value(v, "months_since_last_penalty")
        since = f"{months:.0f}" if months is not None else "?"
        return (
            f"曾受行政处罚，最近一次在{since}个月前",
            f"a past administrative penalty, the last {since} months ago",
        )
    return ("，".join(zh), ", ".join(en))


def _court(v, dominant) -> Sentence:
    if _value(v, "dishonest_debtor"):
        return (
            "被列为失信被执行人",
            "listed as a dishonest judgement debtor (失信被执行人)",
        )
    enforcements = _int(_value(v, "court_enforcements_36m"))
    if dominant == "court_enforcements_36m" or enforcements:
        return (
            f"近36个月被执行案件{enforcements}件",
            f"{enforcements} enforcement case{'s' if enforcements != 1 else ''} in the last 36 months",
        )
    judgements = _int(_value(v, "court_judgements_36m"))
    return (
        f"近36个月涉诉判决{judgements}件",
        f"{judgements} court judgement{'s' if judgements != 1 else ''} in the last 36 months",
    )


def _abnormal(v, dominant) -> Sentence:
    if _value(v, "abnormal_listed_now"):
        return ("当前列入经营异常名录", "currently on the abnormal-operation list")
    times = _int(_value(v, "abnormal_listings"))
    return (
        f"曾{times}次列入经营异常名录",
        f"listed as abnormal {times} time{'s' if times != 1 else ''}",
    )


def _honours(v, dominant) -> Sentence:
    honours, commitments = (
        _int(_value(v, "honours_count")),
        _int(_value(v, "credit_commitments_count")),
    )
    return (
        f"荣誉{honours}项、信用承诺{commitments}项",
        f"{honours} honours and {commitments} credit commitments",
    )


def _industry(v, dominant) -> Sentence:
    section = (
        FEATURE_BY_NAME[dominant].name.removeprefix("industry_") if dominant else "?"
    )
    return (
        f"所属行业门类{section}的整体风险",
        f"the overall risk of industry section {section}",
    )


SENTENCES: dict[str, Callable[[Mapping[str, float | None], str], Sentence]] = {
    "registration": _registration,
    "tax": _tax,
    "employment": _employment,
    "housing_fund": _housing_fund,
    "utilities": _utilities,
    "customs": _customs,
    "innovation": _innovation,
    "penalties": _penalties,
    "court": _court,
    "abnormal": _abnormal,
    "honours": _honours,
    "industry": _industry,
}


#: Each factor's features, in ``FEATURES`` order (the order their totals are summed in).
_MEMBERS: dict[str, tuple[str, ...]] = {
    group: tuple(f.name for f in FEATURES if f.group == group) for group in GROUPS
}


def group_contributions(contributions: Mapping[str, float]) -> dict[str, float]:
    totals = dict.fromkeys(GROUPS, 0.0)
    for feature in FEATURES:
        totals[feature.group] += float(contributions.get(feature.name, 0.0))
    return totals


def _adverse(totals: Mapping[str, float]) -> list[tuple[str, float]]:
    """The factors that raise the log-odds, largest first (ties: by name)."""
    return sorted(
        ((group, total) for group, total in totals.items() if total > 0),
        key=lambda item: (-item[1], item[0]),
    )[:MAX_REASONS]


def explain(codes: Sequence[Mapping], values: Mapping[str, float | None]) -> list[dict]:
    """Reason codes (what a score row stores) with their factor's labels and their
    sentences in both languages, built from the enterprise's feature values."""
    reasons = []
    for code in codes:
        group, dominant = code["factor"], code["feature"]
        zh, en = SENTENCES[group](values, dominant)
        reasons.append(
            {
                **code,
                "factor_zh": GROUPS[group][0],
                "factor_en": GROUPS[group][1],
                "text_zh": zh,
                "text_en": en,
            }
        )
    return reasons


def _code(group: str, total: float, dominant: str) -> dict:
    return {"factor": group, "feature": dominant, "contribution": round(total, 6)}


def reason_codes(contributions: Mapping[str, float]) -> list[dict]:
    """The (at most four) factors that lower the score most, largest first: each with
    the feature that lowers it most and the factor's total contribution."""
    codes = []
    for group, total in _adverse(group_contributions(contributions)):
        dominant = max(
            _MEMBERS[group],
            key=lambda name: (float(contributions.get(name, 0.0)), name),
        )
        codes.append(_code(group, total, dominant))
    return codes


def reasons_for(
    values: Mapping[str, float | None], contributions: Mapping[str, float]
) -> list[dict]:
    """``reason_codes`` explained (``explain``) with the enterprise's values."""
    return explain(reason_codes(contributions), values)


def _contribution_matrix(contributions: np.ndarray, names: Sequence[str]) -> np.ndarray:
    matrix = np.asarray(contributions, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < len(names):
        raise ValueError("contributions must have a column per name")
    return matrix[:, : len(names)]


def _codes_row_by_row(contributions: np.ndarray, names: Sequence[str]) -> list:
    return [
        reason_codes(dict(zip(names, row, strict=True)))
        for row in _contribution_matrix(contributions, names).tolist()
    ]


@dataclass(frozen=True)
class _Layout:
    """Where each factor's features are in a contribution matrix of ``names``, laid
    out for ranking all rows at once. The matrix is extended by a column of zeros (a
    factor's feature the model lacks contributes 0, as in ``reason_codes``) and one
    of -inf (padding, never the largest).

    ``summed[g, k]``: the column of factor ``g``'s ``k``-th feature in ``FEATURES``
    order (totals are summed in that order, as ``group_contributions`` sums them, so
    they are the same floats); ``by_name[g, k]``: the same features by name, greatest
    first (``argmax`` takes the first maximum, and ``max()`` over (contribution,
    name) the greatest name of equal ones); ``objects[g, k]``: the JSON object of
    factor ``g`` with ``by_name[g, k]`` as its feature, to format its total into."""

    groups: tuple[str, ...]
    members: tuple[tuple[str, ...], ...]  # by name, greatest first
    summed: np.ndarray
    by_name: np.ndarray
    objects: np.ndarray


@lru_cache(maxsize=8)
def _layout(names: tuple[str, ...]) -> _Layout:
    column = {name: position for position, name in enumerate(names)}
    zero, padding = len(names), len(names) + 1
    groups = tuple(sorted(GROUPS))  # a stable sort of -total then ties by name
    width = max(len(_MEMBERS[group]) for group in groups)
    summed = np.full((len(groups), width), zero, dtype=np.intp)
    by_name = np.full((len(groups), width), padding, dtype=np.intp)
    members = []
    for g, group in enumerate(groups):
        for k, name in enumerate(_MEMBERS[group]):
            summed[g, k] = column.get(name, zero)
        ranked = tuple(sorted(_MEMBERS[group], reverse=True))
        members.append(ranked)
        for k, name in enumerate(ranked):
            by_name[g, k] = column.get(name, zero)
    # "%.6f" rounds as round(total, 6) does (both correctly rounded from the
    # exact binary value), so the JSON number reads back as that float.
    objects = np.full((len(groups), width), "", dtype=object)
    for g, (group, ranked) in enumerate(zip(groups, members, strict=True)):
        for k, name in enumerate(ranked):
            objects[g, k] = (
                f'{{"factor": "{group}", "feature": "{name}", "contribution": %.6f}}'
            )
    return _Layout(groups, tuple(members), summed, by_name, objects)


def _ranked_rows(
    contributions: np.ndarray, names: Sequence[str]
) -> tuple[_Layout, np.ndarray, np.ndarray, np.ndarray] | None:
    """For each row, its four top factors ranked as ``reason_codes`` ranks them, as
    arrays (rows × 4) of factor positions, totals and dominant-feature positions (in
    ``_layout(names)``), non-adverse ones included (total ≤ 0) for the caller to
    drop. ``None`` if a contribution is NaN: max() and argmax disagree about NaN, so
    the row-by-row path decides then."""
    matrix = _contribution_matrix(contributions, names)
    if np.isnan(matrix).any():
        return None
    layout = _layout(tuple(names))
    rows = len(matrix)
    extended = np.empty((rows, len(names) + 2))
    extended[:, : len(names)] = matrix
    extended[:, len(names)] = 0.0
    extended[:, len(names) + 1] = -np.inf
    totals = np.zeros((rows, len(layout.groups)))
    for k in range(layout.summed.shape[1]):
        totals += extended[:, layout.summed[:, k]]
    order = np.argsort(np.where(totals > 0, -totals, np.inf), axis=1, kind="stable")
    order = order[:, :MAX_REASONS]
    # The dominant feature of the ranked factors only: their columns, by name.
    columns = layout.by_name[order]  # rows × reasons × features per factor
    dominant = np.argmax(
        np.take_along_axis(extended, columns.reshape(rows, -1), axis=1).reshape(
            columns.shape
        ),
        axis=2,
    )
    return layout, order, np.take_along_axis(totals, order, axis=1), dominant


def reason_codes_for_rows(
    contributions: np.ndarray, names: Sequence[str]
) -> list[list[dict]]:
    """``reason_codes`` of many rows at once, with the same result for every row.

    ``contributions`` has one row per enterprise and its first ``len(names)`` columns
    are the contributions of ``names`` (a last bias column is ignored, as
    ``reason_codes`` ignores a ``"bias"`` key).
    """
    ranked = _ranked_rows(contributions, names)
    if ranked is None:
        return _codes_row_by_row(contributions, names)
    layout, order, totals, dominant = ranked
    groups, members = layout.groups, layout.members
    return [
        [
            _code(groups[g], total, members[g][k])
            for g, total, k in zip(row_order, row_totals, row_dominant, strict=True)
            if total > 0
        ]
        for row_order, row_totals, row_dominant in zip(
            order.tolist(), totals.tolist(), dominant.tolist(), strict=True
        )
    ]


def reason_codes_json_for_rows(
    contributions: np.ndarray, names: Sequence[str]
) -> list[str]:
    """``reason_codes_for_rows`` as the JSON text of each row (what a score row
    stores), written without building the dictionaries: factor and feature names are
    identifiers, and a finite total with six decimals is a JSON number."""
    ranked = _ranked_rows(contributions, names)
    if ranked is None:
        return [json.dumps(codes) for codes in _codes_row_by_row(contributions, names)]
    layout, order, totals, dominant = ranked
    # Every ranked factor's JSON object (rows × 4, flat), then each row's adverse
    # ones (the first ``adverse[row]``: non-adverse factors are ranked last).
    objects = list(
        map(
            operator.mod,
            layout.objects[order, dominant].ravel().tolist(),
            totals.ravel().tolist(),
        )
    )
    adverse = np.count_nonzero(totals > 0, axis=1).tolist()
    width = order.shape[1]
    return [
        "[" + ", ".join(objects[row * width : row * width + count]) + "]"
        for row, count in enumerate(adverse)
    ]
