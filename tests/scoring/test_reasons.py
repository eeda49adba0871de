"""Reason sentences say exactly what the feature values say."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.features import FEATURE_NAMES
from scoring.reasons import reasons_for


def _values(**overrides):
    values = dict.fromkeys(FEATURE_NAMES, 0.0)
    values.update(overrides)
    return values


def _only(group_feature: str, contribution: float = 0.5):
    contributions = dict.fromkeys(FEATURE_NAMES, -0.01)
    contributions[group_feature] = contribution
    return contributions


@pytest.mark.parametrize(
    ("values", "feature", "zh", "en"),
    [
        (
            {"penalties_24m": 3.0, "unrepaired_penalties": 1.0},
            "penalties_24m",
            "近24个月行政处罚3次，1次处罚尚未完成信用修复",
            "3 administrative penalties in the last 24 months, 1 penalty not yet repaired",
        ),
        (
            {"penalties_24m": 0.0, "unrepaired_penalties": 2.0},
            "unrepaired_penalties",
            "2次处罚尚未完成信用修复",
            "2 penalties not yet repaired",
        ),
        (
            {
                "penalties_24m": 0.0,
                "unrepaired_penalties": 0.0,
                "months_since_last_penalty": 40.0,
            },
            "months_since_last_penalty",
            "曾受行政处罚，最近一次在40个月前",
            "a past administrative penalty, the last 40 months ago",
        ),
        (
            {"dishonest_debtor": 1.0},
            "dishonest_debtor",
            "被列为失信被执行人",
            "listed as a dishonest judgement debtor (失信被执行人)",
        ),
        (
            {"tax_paid_12m_log": 10.0, "tax_trend_12m": -0.4},
            "tax_trend_12m",
            "近12个月纳税额较上年下降33%",
            "tax paid in the last 12 months fell 33% on the year before",
        ),
        (
            {"tax_paid_12m_log": 10.0, "tax_credit_grade": 1.0},
            "tax_credit_grade",
            "纳税信用等级为C级",
            "tax credit grade C",
        ),
        (
            {"tax_paid_12m_log": None},
            "tax_paid_12m_log",
            "无纳税记录",
            "no tax records",
        ),
        (
            {"abnormal_listed_now": 1.0},
            "abnormal_listed_now",
            "当前列入经营异常名录",
            "currently on the abnormal-operation list",
        ),
    ],
)
def test_sentence_matches_the_values(values, feature, zh, en):
    [reason] = reasons_for(_values(**values), _only(feature))
    assert (reason["text_zh"], reason["text_en"]) == (zh, en)


def test_no_adverse_factor_means_no_reason():
    assert reasons_for(_values(), dict.fromkeys(FEATURE_NAMES, -0.1)) == []


def test_at_most_four_reasons_largest_first():
    contributions = dict.fromkeys(FEATURE_NAMES, 0.0)
    for position, name in enumerate(
        [
            "penalties_24m",
            "dishonest_debtor",
            "tax_trend_12m",
            "abnormal_listed_now",
            "honours_count",
            "patents_count",
        ]
    ):
        contributions[name] = 0.1 * (position + 1)
    reasons = reasons_for(_values(tax_paid_12m_log=9.0), contributions)
    assert [r["factor"] for r in reasons] == [
        "innovation",
        "honours",
        "abnormal",
        "tax",
    ]


def test_reason_codes_of_many_rows_equal_those_of_each_row():
    """The vectorized ranking agrees with the row-by-row one, ties included."""
    from scoring.reasons import reason_codes, reason_codes_for_rows

    rng = np.random.default_rng(7)
    matrix = rng.normal(scale=0.2, size=(400, len(FEATURE_NAMES) + 1))
    # Ties: equal factor totals and equal contributions within a factor.
    matrix[:50, :] = np.round(matrix[:50, :], 1)
    matrix[50:60, :-1] = 0.1
    rows = reason_codes_for_rows(matrix, FEATURE_NAMES)
    for row, codes in zip(matrix, rows, strict=True):
        assert codes == reason_codes(
            dict(zip(FEATURE_NAMES, row[:-1].tolist(), strict=True))
        )
    assert any(len(codes) == 4 for codes in rows)


def test_reason_codes_as_json_text_are_the_codes():
    import json

    from scoring.reasons import reason_codes_for_rows, reason_codes_json_for_rows

    rng = np.random.default_rng(11)
    matrix = rng.normal(scale=0.3, size=(200, len(FEATURE_NAMES) + 1))
    matrix[5, 3] = np.nan  # the row-by-row path
    texts = reason_codes_json_for_rows(matrix, FEATURE_NAMES)
    assert [json.loads(text) for text in texts] == reason_codes_for_rows(
        matrix, FEATURE_NAMES
    )


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False, exclude_min=True))
def test_a_stored_contribution_reads_back_as_the_rounded_total(total):
    """The JSON text formats a factor's total with "%.6f"; it must read back as the
    same float as ``round(total, 6)``, what ``reason_codes`` gives."""
    import json

    from scoring.reasons import reason_codes, reason_codes_json_for_rows

    matrix = np.zeros((1, len(FEATURE_NAMES) + 1))
    matrix[0, FEATURE_NAMES.index("penalties_24m")] = total
    [text] = reason_codes_json_for_rows(matrix, FEATURE_NAMES)
    assert json.loads(text) == reason_codes(
        dict(zip(FEATURE_NAMES, matrix[0][:-1].tolist(), strict=True))
    )
    assert json.loads(text)[0]["contribution"] == round(total, 6)


# The labels and sentences are gettext strings: English source, Chinese in the
# zh-hans catalogue (locale/zh_Hans/LC_MESSAGES/django.po).


@pytest.mark.parametrize(
    ("language", "label", "industry", "factor"),
    [
        ("zh-hans", "纳税信用等级（A=4…D=0）", "行业门类C", "社保参保"),
        (
            "en",
            "tax credit grade (A=4 … D=0)",
            "industry section C",
            "Social insurance",
        ),
    ],
)
def test_feature_and_factor_labels_follow_the_active_language(
    language, label, industry, factor
):
    from django.utils import translation

    from scoring.features import FEATURE_BY_NAME, GROUPS

    with translation.override(language):
        assert str(FEATURE_BY_NAME["tax_credit_grade"].label) == label
        assert str(FEATURE_BY_NAME["industry_C"].label) == industry
        assert str(GROUPS["employment"]) == factor


@pytest.mark.parametrize(
    ("language", "penalties", "capital"),
    [
        (
            "zh-hans",
            "近24个月行政处罚1次，近36个月严重处罚2次",
            "注册资本500万元，规模较小",
        ),
        (
            "en",
            "1 administrative penalty in the last 24 months, 2 serious in the last 36 months",
            "registered capital of CNY 5,000,000 is small",
        ),
    ],
)
def test_reason_sentences_follow_the_active_language(language, penalties, capital):
    import math

    from django.utils import translation

    from scoring.reasons import sentence

    values = _values(
        penalties_24m=1.0,
        serious_penalties_36m=2.0,
        registered_capital_log=math.log1p(5_000_000),
    )
    with translation.override(language):
        assert sentence("penalties", values, "penalties_24m") == penalties
        assert sentence("registration", values, "registered_capital_log") == capital
    # An explicit language wins over the active one.
    other = "en" if language == "zh-hans" else "zh-hans"
    with translation.override(other):
        assert sentence("penalties", values, "penalties_24m", language) == penalties


@pytest.mark.parametrize("active", ["zh-hans", "en"])
def test_explained_reasons_carry_both_languages_whatever_the_active_one(active):
    from django.utils import translation

    from scoring.features import FEATURE_BY_NAME

    with translation.override(active):
        [reason] = reasons_for(
            _values(abnormal_listed_now=1.0), _only("abnormal_listed_now")
        )
        feature = FEATURE_BY_NAME["abnormal_listed_now"]
        labels = (feature.label_zh, feature.label_en)
    assert (reason["factor_zh"], reason["factor_en"]) == (
        "经营异常",
        "Abnormal operation",
    )
    assert (reason["text_zh"], reason["text_en"]) == (
        "当前列入经营异常名录",
        "currently on the abnormal-operation list",
    )
    assert labels == (
        "当前是否列入经营异常名录",
        "currently on the abnormal-operation list",
    )


@pytest.mark.parametrize("module", ["features", "reasons"])
def test_no_chinese_in_the_source_the_catalogue_has_it(module):
    from pathlib import Path

    import scoring

    source = (Path(scoring.__file__).parent / f"{module}.py").read_text("utf-8")
    cjk = sorted({char for char in source if "\u4e00" <= char <= "\u9fff"})
    assert cjk == [], f"scoring/{module}.py holds Chinese text: {''.join(cjk)}"
