"""Reason codes: why a score is what it is, in words an SME owner understands.

xgboost's ``pred_contribs`` gives each feature's exact additive contribution to the
log-odds of default (they sum, with the bias, to the raw margin). Contributions are
summed per business factor (``features.GROUPS``); the factors that raise the log-odds
the most are the ones that lower the score, and each becomes one sentence built from
the enterprise's own feature values. Sentences are ordinary translatable strings
(English source, translations in ``locale/``): ``sentence`` gives one in the active
language or in a given one, ``explain`` gives both ``LANGUAGE_ZH`` and ``LANGUAGE_EN``.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.utils import translation
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy

from core.codes import INDUSTRIES
from scoring.features import (
    FEATURE_BY_NAME,
    FEATURES,
    GROUPS,
    LANGUAGE_EN,
    LANGUAGE_ZH,
    translated,
)

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


def _capital_unit() -> int:
    """How many yuan one unit of a registered capital in a sentence is (1 in English,
    10,000 in Chinese, which counts it in wan yuan): the translators' choice."""
    # Translators: the number of yuan in one unit of the registered capital amount
    # in the sentence "registered capital of CNY %(capital)s is small": "1" shows
    # yuan, "10000" shows units of 10,000 yuan (wan yuan). Digits only.
    unit = pgettext("yuan per unit of registered capital", "1")
    return int(unit) if unit.isdigit() and int(unit) > 0 else 1


#: The official Chinese name of the list of dishonest judgement debtors, which the
#: English sentence quotes: the term's Chinese translation, whatever the language.
_DISHONEST_DEBTOR_TERM = pgettext_lazy(
    "official name of the list of dishonest judgement debtors",
    "dishonest judgement debtor",
)


def _registration(v, dominant) -> str:
    if dominant == "registered_capital_log":
        capital = _money(_value(v, "registered_capital_log"))
        return gettext("registered capital of CNY %(capital)s is small") % {
            "capital": f"{capital / _capital_unit():,.0f}"
        }
    years = _value(v, "years_in_business")
    if years is None:
        return gettext("no business registration record")
    return gettext("only %(years)s years in business") % {"years": f"{years:.1f}"}


def _tax(v, dominant) -> str:
    if _value(v, "tax_paid_12m_log") is None:
        return gettext("no tax records")
    trend = _value(v, "tax_trend_12m")
    if dominant == "tax_trend_12m" and trend is not None:
        if trend < 0:
            return gettext(
                "tax paid in the last 12 months fell %(percent)s%% on the year before"
            ) % {"percent": _pct(trend)}
        return gettext(
            "tax paid in the last 12 months grew only %(percent)s%% on the year before"
        ) % {"percent": _pct(trend)}
    if dominant == "tax_credit_grade" and _value(v, "tax_credit_grade") is not None:
        grade = {4: "A", 3: "B", 2: "M", 1: "C", 0: "D"}[
            _int(_value(v, "tax_credit_grade"))
        ]
        return gettext("tax credit grade %(grade)s") % {"grade": grade}
    if dominant == "tax_arrears_months_12m":
        months = _int(_value(v, "tax_arrears_months_12m"))
        return gettext("tax arrears in %(months)s of the last 12 months") % {
            "months": months
        }
    if dominant == "tax_zero_months_12m":
        months = _int(_value(v, "tax_zero_months_12m"))
        return gettext("no tax paid in %(months)s of the last 12 months") % {
            "months": months
        }
    if (
        dominant == "tax_per_employee_log"
        and _value(v, "tax_per_employee_log") is not None
    ):
        per_head = _money(_value(v, "tax_per_employee_log"))
        return gettext(
            "tax paid per employee of CNY %(amount)s in the last 12 months is low"
        ) % {"amount": f"{per_head:,.0f}"}
    paid = _money(_value(v, "tax_paid_12m_log"))
    return gettext("CNY %(amount)s tax paid in the last 12 months is low") % {
        "amount": f"{paid:,.0f}"
    }


def _employment(v, dominant) -> str:
    if dominant == "social_arrears_months_12m":
        months = _int(_value(v, "social_arrears_months_12m"))
        return gettext(
            "social-insurance arrears in %(months)s of the last 12 months"
        ) % {"months": months}
    change = _value(v, "headcount_change_12m")
    if change is None:
        return gettext("less than 12 months of social-insurance records")
    if change < 0:
        return gettext("insured headcount fell %(percent)s%% over 12 months") % {
            "percent": _pct(change)
        }
    return gettext("insured headcount grew only %(percent)s%% over 12 months") % {
        "percent": _pct(change)
    }


def _housing_fund(v, dominant) -> str:
    if not _value(v, "housing_fund_enrolled"):
        return gettext("does not pay into the housing provident fund")
    if dominant == "housing_fund_late_months_12m":
        months = _int(_value(v, "housing_fund_late_months_12m"))
        return gettext(
            "late housing-fund payment in %(months)s of the last 12 months"
        ) % {"months": months}
    coverage = _value(v, "housing_fund_coverage") or 0.0
    # (What f"{coverage:.0%}" writes, the "%" sign left to the translation.)
    return gettext("the housing fund covers %(percent)s%% of insured employees") % {
        "percent": f"{coverage * 100:.0f}"
    }


def _utilities(v, dominant) -> str:
    if dominant == "utility_arrears_months_12m":
        months = _int(_value(v, "utility_arrears_months_12m"))
        return gettext("utility arrears in %(months)s of the last 12 months") % {
            "months": months
        }
    trend = _value(v, "electricity_trend_12m")
    if trend is None:
        return gettext("less than 24 months of electricity records")
    if trend < 0:
        return gettext("electricity use fell %(percent)s%% on the year before") % {
            "percent": _pct(trend)
        }
    return gettext("electricity use grew only %(percent)s%% on the year before") % {
        "percent": _pct(trend)
    }


def _customs(v, dominant) -> str:
    volume = _money(_value(v, "customs_volume_12m_log"))
    if volume <= 0:
        return gettext("no imports or exports in the last 12 months")
    return gettext("CNY %(amount)s of imports and exports in the last 12 months") % {
        "amount": f"{volume:,.0f}"
    }


def _innovation(v, dominant) -> str:
    patents, marks = (
        _int(_value(v, "patents_count")),
        _int(_value(v, "trademarks_count")),
    )
    return gettext("%(patents)s patents and %(trademarks)s trademarks") % {
        "patents": patents,
        "trademarks": marks,
    }


def _penalties(v, dominant) -> str:
    count = _int(_value(v, "penalties_24m"))
    unrepaired = _int(_value(v, "unrepaired_penalties"))
    serious = _int(_value(v, "serious_penalties_36m"))
    parts = []
    if count:
        parts.append(
            ngettext(
                "%(count)s administrative penalty in the last 24 months",
                "%(count)s administrative penalties in the last 24 months",
                count,
            )
            % {"count": count}
        )
    if unrepaired:
        parts.append(
            ngettext(
                "%(count)s penalty not yet repaired",
                "%(count)s penalties not yet repaired",
                unrepaired,
            )
            % {"count": unrepaired}
        )
    if serious:
        parts.append(
            # Translators: follows "N administrative penalties in the last 24
            # months" or "N penalties not yet repaired": N serious penalties.
            gettext("%(count)s serious in the last 36 months") % {"count": serious}
        )
    if not parts:
        months = _value(v, "months_since_last_penalty")
        since = f"{months:.0f}" if months is not None else "?"
        return gettext(
            "a past administrative penalty, the last %(months)s months ago"
        ) % {"months": since}
    return pgettext("separator of the parts of a reason sentence", ", ").join(parts)


def _court(v, dominant) -> str:
    if _value(v, "dishonest_debtor"):
        # Translators: %(term)s is the official Chinese name of the list.
        return gettext("listed as a dishonest judgement debtor (%(term)s)") % {
            "term": translated(_DISHONEST_DEBTOR_TERM, LANGUAGE_ZH)
        }
    enforcements = _int(_value(v, "court_enforcements_36m"))
    if dominant == "court_enforcements_36m" or enforcements:
        return ngettext(
            "%(count)s enforcement case in the last 36 months",
            "%(count)s enforcement cases in the last 36 months",
            enforcements,
        ) % {"count": enforcements}
    judgements = _int(_value(v, "court_judgements_36m"))
    return ngettext(
        "%(count)s court judgement in the last 36 months",
        "%(count)s court judgements in the last 36 months",
        judgements,
    ) % {"count": judgements}


def _abnormal(v, dominant) -> str:
    if _value(v, "abnormal_listed_now"):
        return gettext("currently on the abnormal-operation list")
    times = _int(_value(v, "abnormal_listings"))
    return ngettext(
        "listed as abnormal %(count)s time",
        "listed as abnormal %(count)s times",
        times,
    ) % {"count": times}


def _honours(v, dominant) -> str:
    honours, commitments = (
        _int(_value(v, "honours_count")),
        _int(_value(v, "credit_commitments_count")),
    )
    return gettext("%(honours)s honours and %(commitments)s credit commitments") % {
        "honours": honours,
        "commitments": commitments,
    }


def _industry(v, dominant) -> str:
    """Names the industry ("Manufacturing"), never its GB/T 4754 section letter
    ("C"): an SME owner knows what trade the firm is in, not the letter coding it."""
    section = (
        FEATURE_BY_NAME[dominant].name.removeprefix("industry_") if dominant else ""
    )
    if section not in INDUSTRIES:
        return gettext("the overall risk of its industry")
    return gettext("the overall risk of its industry (%(industry)s)") % {
        "industry": INDUSTRIES[section]
    }


#: Each factor's sentence in the active language.
_SENTENCE: dict[str, Callable[[Mapping[str, float | None], str], str]] = {
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


def sentence(
    group: str,
    values: Mapping[str, float | None],
    dominant: str,
    language: str | None = None,
) -> str:
    """Factor ``group``'s sentence, built from ``values`` (``dominant``: its most
    adverse feature), in ``language`` or, if none is given, the active language."""
    if language is None:
        return _SENTENCE[group](values, dominant)
    with translation.override(language):
        return _SENTENCE[group](values, dominant)


#: A sentence in Chinese and in English (``LANGUAGE_ZH``, ``LANGUAGE_EN``).
Sentence = tuple[str, str]


def _both(group: str) -> Callable[[Mapping[str, float | None], str], Sentence]:
    def both(values: Mapping[str, float | None], dominant: str) -> Sentence:
        return (
            sentence(group, values, dominant, LANGUAGE_ZH),
            sentence(group, values, dominant, LANGUAGE_EN),
        )

    return both


SENTENCES: dict[str, Callable[[Mapping[str, float | None], str], Sentence]] = {
    group: _both(group) for group in _SENTENCE
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
    sentences in both languages (``*_zh``: ``LANGUAGE_ZH``, ``*_en``:
    ``LANGUAGE_EN``, whatever the active language), built from the enterprise's
    feature values."""
    reasons = []
    for code in codes:
        group, dominant = code["factor"], code["feature"]
        zh, en = SENTENCES[group](values, dominant)
        reasons.append(
            {
                **code,
                "factor_zh": translated(GROUPS[group], LANGUAGE_ZH),
                "factor_en": translated(GROUPS[group], LANGUAGE_EN),
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
