"""The matching engine (``marketplace.matching``) on facts and catalogue rows made by
hand: which products are ranked, which are near misses, the sentences of a verdict in
both languages, and the ranking order.

The property tests check the engine against an oracle written here from the
product's rules as a bank reads them (``_oracle_failures``), not against the engine's
own ``failing_rules``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace import matching
from marketplace.matching import (
    DISHONEST,
    DISTRICT,
    GRADE,
    INDUSTRY,
    RULES,
    SERIOUS_PENALTY,
    TAX_GRADE,
    YEARS,
    EnterpriseFacts,
    catalogue_row,
    date_reaching,
    explain,
    facts_from,
    failing_rules,
    rank,
    scaled,
    years_tenths,
)

GRADES = "ABCD"  # best first
TAX_GRADES = "ABMCD"  # best first
DISTRICT_CODES = ("440303", "440304", "440305", "440306")
INDUSTRY_CODES = ("C", "F", "I", "M")


def _facts(**overrides) -> EnterpriseFacts:
    values = {
        "grade": "B",
        "years_tenths": 60,
        "founded_on": dt.date(2019, 5, 1),
        "district": "440305",
        "industry": "I",
        "tax_credit_grade": "B",
        "dishonest_debtor": False,
        "unrepaired_penalties": 0,
        "serious_penalties": 0,
        "reasons": (),
    }
    values.update(overrides)
    return EnterpriseFacts(**values)


def _product(
    pk: int = 1,
    *,
    lender_pk: int = 1,
    min_grade: str = "",
    min_years: str = "0",
    min_tax: str = "",
    excludes_dishonest: bool = False,
    excludes_serious: bool = False,
    districts=(),
    industries=(),
    amount=("100000.00", "3000000.00"),
    rate=("3.45", "6.50"),
):
    """A catalogue row from values as a ``LoanProduct`` stores them."""
    return catalogue_row(
        scaled(
            (
                pk,
                lender_pk,
                min_grade,
                Decimal(min_years),
                min_tax,
                excludes_dishonest,
                excludes_serious,
                Decimal(amount[0]),
                Decimal(amount[1]),
                Decimal(rate[0]),
                Decimal(rate[1]),
            )
        ),
        districts=districts,
        industries=industries,
    )


# --- the oracle -------------------------------------------------------------------


def _oracle_failures(enterprise: dict, product: dict) -> set[str]:
    """The rules ``product`` (as stored) fails for ``enterprise``, read as the bank
    writes them; missing data fails."""
    failed = set()
    if product["min_grade"] and GRADES.index(enterprise["grade"]) > GRADES.index(
        product["min_grade"]
    ):
        failed.add(GRADE)
    if Decimal(enterprise["years_tenths"]) / 10 < Decimal(product["min_years"]):
        failed.add(YEARS)
    if product["districts"] and enterprise["district"] not in product["districts"]:
        failed.add(DISTRICT)
    if product["industries"] and enterprise["industry"] not in product["industries"]:
        failed.add(INDUSTRY)
    if product["min_tax"] and (
        enterprise["tax"] is None
        or TAX_GRADES.index(enterprise["tax"]) > TAX_GRADES.index(product["min_tax"])
    ):
        failed.add(TAX_GRADE)
    if product["excludes_dishonest"] and enterprise["dishonest"] is not False:
        failed.add(DISHONEST)
    if product["excludes_serious"]:
        unrepaired, serious = enterprise["unrepaired"], enterprise["serious"]
        # An unrepaired serious penalty is possible only with both counts above 0;
        # without the counts the rule cannot be shown to pass.
        if not (unrepaired == 0 or serious == 0):
            failed.add(SERIOUS_PENALTY)
    return failed


def _facts_of(enterprise: dict) -> EnterpriseFacts:
    return _facts(
        grade=enterprise["grade"],
        years_tenths=enterprise["years_tenths"],
        district=enterprise["district"],
        industry=enterprise["industry"],
        tax_credit_grade=enterprise["tax"],
        dishonest_debtor=enterprise["dishonest"],
        unrepaired_penalties=enterprise["unrepaired"],
        serious_penalties=enterprise["serious"],
    )


def _row_of(pk: int, product: dict):
    return _product(
        pk,
        lender_pk=product["lender"],
        min_grade=product["min_grade"],
        min_years=product["min_years"],
        min_tax=product["min_tax"],
        excludes_dishonest=product["excludes_dishonest"],
        excludes_serious=product["excludes_serious"],
        districts=product["districts"],
        industries=product["industries"],
        rate=product["rate"],
    )


counts = st.one_of(st.none(), st.integers(min_value=0, max_value=3))
enterprises = st.fixed_dictionaries(
    {
        "grade": st.sampled_from(GRADES),
        "years_tenths": st.integers(min_value=0, max_value=150),
        "district": st.sampled_from(DISTRICT_CODES),
        "industry": st.sampled_from(INDUSTRY_CODES),
        "tax": st.one_of(st.none(), st.sampled_from(TAX_GRADES)),
        "dishonest": st.one_of(st.none(), st.booleans()),
        "unrepaired": counts,
        "serious": counts,
    }
)
rates = st.integers(min_value=200, max_value=1500).map(
    lambda bp: (f"{bp / 100:.2f}", f"{(bp + 150) / 100:.2f}")
)
products = st.fixed_dictionaries(
    {
        "lender": st.integers(min_value=1, max_value=3),
        "min_grade": st.sampled_from(["", *GRADES]),
        "min_years": st.sampled_from(["0", "0.5", "1", "2.5", "3", "6", "10"]),
        "min_tax": st.sampled_from(["", *TAX_GRADES]),
        "excludes_dishonest": st.booleans(),
        "excludes_serious": st.booleans(),
        "districts": st.frozensets(st.sampled_from(DISTRICT_CODES), max_size=3),
        "industries": st.frozensets(st.sampled_from(INDUSTRY_CODES), max_size=3),
        "rate": rates,
    }
)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(enterprise=enterprises, catalogue=st.lists(products, min_size=1, max_size=25))
def test_an_ineligible_product_is_never_ranked(enterprise, catalogue):
    facts = _facts_of(enterprise)
    rows = [_row_of(pk, product) for pk, product in enumerate(catalogue, start=1)]
    expected = {
        pk: _oracle_failures(enterprise, product)
        for pk, product in enumerate(catalogue, start=1)
    }

    ranking = rank(facts, rows, desired_amount=Decimal("500000"))

    ranked = [match.pk for match in ranking.eligible]
    assert len(ranked) == len(set(ranked))
    assert set(ranked) == {pk for pk, failed in expected.items() if not failed}
    assert {match.pk for match in ranking.near_misses} == {
        pk for pk, failed in expected.items() if len(failed) == 1
    }
    assert (ranking.eligible_count, ranking.near_count) == (
        len(ranking.eligible),
        len(ranking.near_misses),
    )
    with translation.override("en"):
        for match in ranking.eligible:
            assert explain(facts, match.row).failures == ()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    enterprise=enterprises,
    catalogue=st.lists(products, min_size=1, max_size=25),
    limit=st.integers(min_value=0, max_value=8),
    near_limit=st.integers(min_value=0, max_value=8),
)
def test_a_limited_ranking_is_the_start_of_the_full_one(
    enterprise, catalogue, limit, near_limit
):
    facts = _facts_of(enterprise)
    rows = [_row_of(pk, product) for pk, product in enumerate(catalogue, start=1)]

    full = rank(facts, rows, desired_amount=Decimal("500000"))
    top = rank(
        facts,
        rows,
        desired_amount=Decimal("500000"),
        limit=limit,
        near_limit=near_limit,
    )

    assert top.eligible == full.eligible[:limit]
    assert top.near_misses == full.near_misses[:near_limit]
    assert (top.eligible_count, top.near_count) == (
        len(full.eligible),
        len(full.near_misses),
    )


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(enterprise=enterprises, catalogue=st.lists(products, min_size=1, max_size=25))
def test_every_why_not_names_the_rule_that_fails_and_no_other(enterprise, catalogue):
    facts = _facts_of(enterprise)
    rows = {pk: _row_of(pk, product) for pk, product in enumerate(catalogue, start=1)}

    ranking = rank(facts, rows.values())

    with translation.override("en"):
        for match in ranking.near_misses:
            (failed,) = _oracle_failures(enterprise, catalogue[match.pk - 1])
            verdict = explain(facts, rows[match.pk])
            assert match.failed == (failed,)
            assert [result.rule for result in verdict.failures] == [failed]
            assert failed not in [result.rule for result in verdict.passes]
            assert all(result.sentence and result.change for result in verdict.failures)


#: For each rule, a change to a product every enterprise of ``_passing`` passes that
#: makes it fail that rule and only that one (given the enterprise).
def _break(rule: str, enterprise: dict, product: dict) -> dict:
    product = dict(product)
    if rule == GRADE:
        product["min_grade"] = GRADES[GRADES.index(enterprise["grade"]) - 1]
    elif rule == YEARS:
        product["min_years"] = str(Decimal(enterprise["years_tenths"] + 1) / 10)
    elif rule == DISTRICT:
        product["districts"] = frozenset(DISTRICT_CODES) - {enterprise["district"]}
    elif rule == INDUSTRY:
        product["industries"] = frozenset(INDUSTRY_CODES) - {enterprise["industry"]}
    elif rule == TAX_GRADE:
        product["min_tax"] = "A"
    elif rule == DISHONEST:
        product["excludes_dishonest"] = True
    elif rule == SERIOUS_PENALTY:
        product["excludes_serious"] = True
    return product


@st.composite
def one_rule_broken(draw):
    """An enterprise, a rule it can fail, and a product it fails on that rule only."""
    rule = draw(st.sampled_from(RULES))
    enterprise = draw(enterprises)
    # Make the rule breakable for this enterprise, and every other rule passable.
    if rule == GRADE:
        enterprise["grade"] = draw(st.sampled_from("BCD"))
    if rule == YEARS:
        enterprise["years_tenths"] = draw(st.integers(min_value=0, max_value=499))
    if rule == TAX_GRADE:
        enterprise["tax"] = draw(st.sampled_from([None, "B", "M", "C", "D"]))
    if rule == DISHONEST:
        enterprise["dishonest"] = draw(st.sampled_from([None, True]))
    if rule == SERIOUS_PENALTY:
        enterprise["unrepaired"], enterprise["serious"] = draw(
            st.sampled_from([(1, 1), (2, 3), (None, 2), (3, None), (None, None)])
        )
    passing = {
        "lender": 1,
        "min_grade": "",
        "min_years": "0",
        "min_tax": "",
        "excludes_dishonest": False,
        "excludes_serious": False,
        "districts": draw(st.sampled_from([frozenset(), frozenset(DISTRICT_CODES)])),
        "industries": draw(st.sampled_from([frozenset(), frozenset(INDUSTRY_CODES)])),
        "rate": draw(rates),
    }
    return rule, enterprise, passing, _break(rule, enterprise, passing)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=one_rule_broken())
def test_a_product_broken_on_one_rule_is_a_near_miss_naming_that_rule(case):
    rule, enterprise, passing, broken = case
    facts = _facts_of(enterprise)
    rows = [_row_of(1, passing), _row_of(2, broken)]

    ranking = rank(facts, rows)

    assert [match.pk for match in ranking.eligible] == [1]
    assert [(match.pk, match.failed) for match in ranking.near_misses] == [(2, (rule,))]
    with translation.override("en"):
        verdict = explain(facts, rows[1])
    assert [result.rule for result in verdict.failures] == [rule]
    assert verdict.near_miss and not verdict.eligible


def test_the_snapshot_features_matching_reads_are_the_scoring_features():
    from scoring import features

    for name in matching.SNAPSHOT_FEATURES:
        assert name in features.FEATURE_NAMES
    assert {
        grade: float(points) for grade, points in matching.TAX_GRADE_POINTS.items()
    } == features.GRADE_POINTS


# --- sentences ----------------------------------------------------------------------

STRICT_PRODUCT = {
    "min_grade": "C",
    "min_years": "3",
    "min_tax": "M",
    "excludes_dishonest": True,
    "excludes_serious": True,
    "districts": ("440305",),
}


def _sentences(verdict) -> list[tuple[str, str, str]]:
    return [
        (result.rule, result.sentence, result.change)
        for result in (*verdict.passes, *verdict.failures)
    ]


@pytest.mark.parametrize(
    ("language", "expected", "rate", "amount"),
    [
        (
            "en",
            [
                (GRADE, "Credit grade B ≥ required C", ""),
                (YEARS, "Founded 6 years ago ≥ 3 years", ""),
                (DISTRICT, "Serves Nanshan", ""),
                (
                    INDUSTRY,
                    "Open to every industry, Information transmission, software "
                    "and IT services included",
                    "",
                ),
                (TAX_GRADE, "Tax credit grade B ≥ required M", ""),
                (DISHONEST, "Not listed as a dishonest judgement debtor", ""),
                (SERIOUS_PENALTY, "No administrative penalty left unrepaired", ""),
            ],
            "Annual rate 3.45%–6.50%",
            "Amount CNY 100,000–3,000,000",
        ),
        (
            "zh-hans",
            [
                (GRADE, "信用等级 B ≥ 要求 C", ""),
                (YEARS, "成立 6 年 ≥ 3 年", ""),
                (DISTRICT, "服务南山区", ""),
                (INDUSTRY, "不限行业，含信息传输、软件和信息技术服务业", ""),
                (TAX_GRADE, "纳税信用等级 B ≥ 要求 M", ""),
                (DISHONEST, "未被列为失信被执行人", ""),
                (SERIOUS_PENALTY, "无未修复的行政处罚", ""),
            ],
            "年利率 3.45%–6.50%",
            "额度 100,000–3,000,000 元",
        ),
    ],
)
def test_why_it_fits_says_each_rule_with_the_enterprises_own_value(
    language, expected, rate, amount
):
    with translation.override(language):
        verdict = explain(_facts(), _product(**STRICT_PRODUCT))

    assert verdict.eligible
    assert _sentences(verdict) == expected
    assert (verdict.rate, verdict.amount, verdict.amount_state) == (
        rate,
        amount,
        "neutral",
    )


REASONS = (
    {
        "factor": "penalties",
        "text_zh": "2 项行政处罚尚未修复",
        "text_en": "2 penalties not yet repaired",
    },
    {"factor": "tax", "text_zh": "纳税信用等级 C", "text_en": "tax credit grade C"},
)


@pytest.mark.parametrize(
    ("language", "sentence", "change"),
    [
        (
            "en",
            "Needs credit grade B; you are C",
            "What weighs most on your grade: 2 penalties not yet repaired; tax "
            "credit grade C. A credit repair of a penalty, or a successful objection "
            "to a wrong record, would count at your next score.",
        ),
        (
            "zh-hans",
            "需要信用等级 B，您为 C",
            "对您的等级影响最大的是：2 项行政处罚尚未修复、纳税信用等级 C。"
            "行政处罚完成信用修复，或对错误记录的异议获得支持，都会在下次评分时计入。",
        ),
    ],
)
def test_a_grade_why_not_cites_the_scores_reasons_and_that_a_repair_counts(
    language, sentence, change
):
    facts = _facts(grade="C", reasons=REASONS)
    with translation.override(language):
        verdict = explain(facts, _product(min_grade="B"))

    assert _sentences(verdict)[-1] == (GRADE, sentence, change)
    assert verdict.near_miss


def test_a_grade_why_not_without_a_penalty_reason_does_not_offer_a_repair():
    facts = _facts(grade="C", reasons=REASONS[1:])
    with translation.override("en"):
        (failure,) = explain(facts, _product(min_grade="B")).failures

    assert failure.change == "What weighs most on your grade: tax credit grade C."


@pytest.mark.parametrize(
    ("language", "sentence", "change"),
    [
        (
            "en",
            "Founded 1.8 years ago; needs 3 years",
            "You reach 3 years on March 10, 2027.",
        ),
        ("zh-hans", "成立 1.8 年，要求 3 年", "您将于 2027年3月10日 满 3 年。"),
    ],
)
def test_a_years_why_not_says_when_the_enterprise_qualifies(language, sentence, change):
    founded = dt.date(2024, 3, 10)
    facts = _facts(
        founded_on=founded, years_tenths=years_tenths(founded, dt.date(2026, 1, 15))
    )
    with translation.override(language):
        (failure,) = explain(facts, _product(min_years="3")).failures

    assert (failure.rule, failure.sentence, failure.change) == (YEARS, sentence, change)


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "Does not serve Nanshan (serves Luohu; Futian)"),
        ("zh-hans", "不服务南山区（服务罗湖区、福田区）"),
    ],
)
def test_a_district_why_not_names_the_districts_served(language, sentence):
    with translation.override(language):
        (failure,) = explain(
            _facts(), _product(districts=("440304", "440303"))
        ).failures

    assert (failure.rule, failure.sentence) == (DISTRICT, sentence)


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "en",
            "We have no data on your tax credit grade — authorize the category “Tax”.",
        ),
        ("zh-hans", "我们没有您的纳税信用等级的数据——请授权“纳税”类别。"),
    ],
)
def test_a_rule_without_data_fails_and_says_which_category_to_authorize(
    language, sentence
):
    facts = _facts(tax_credit_grade=None)
    with translation.override(language):
        (failure,) = explain(facts, _product(min_tax="D")).failures

    assert (failure.rule, failure.sentence, failure.missing) == (
        TAX_GRADE,
        sentence,
        True,
    )
    assert failing_rules(facts, _product(min_tax="D")) == (TAX_GRADE,)


@pytest.mark.parametrize(
    ("unrepaired", "serious", "failed", "sentence"),
    [
        (0, 2, False, "No administrative penalty left unrepaired"),
        (2, 0, False, "No serious administrative penalty in the last 36 months"),
        (0, None, False, "No administrative penalty left unrepaired"),
        (
            1,
            1,
            True,
            "1 penalty not yet repaired, and 1 serious penalties in the last 36 months",
        ),
        (
            None,
            2,
            True,
            "We have no data on administrative penalties — authorize the category "
            "“Administrative licences and penalties”.",
        ),
    ],
)
def test_an_unrepaired_serious_penalty_is_read_from_the_two_penalty_counts(
    unrepaired, serious, failed, sentence
):
    facts = _facts(unrepaired_penalties=unrepaired, serious_penalties=serious)
    row = _product(excludes_serious=True)
    with translation.override("en"):
        verdict = explain(facts, row)

    results = verdict.failures if failed else verdict.passes
    assert [(r.rule, r.sentence) for r in results if r.rule == SERIOUS_PENALTY] == [
        (SERIOUS_PENALTY, sentence)
    ]
    assert failing_rules(facts, row) == ((SERIOUS_PENALTY,) if failed else ())


@pytest.mark.parametrize(
    ("language", "amount", "state", "sentence"),
    [
        (
            "en",
            "500000",
            "fits",
            "CNY 500,000 is within the range CNY 100,000–3,000,000",
        ),
        (
            "en",
            "5000000.50",
            "outside",
            "CNY 5,000,000.50 is outside the range CNY 100,000–3,000,000",
        ),
        ("zh-hans", "500000", "fits", "500,000 元在 100,000–3,000,000 元的额度范围内"),
        (
            "zh-hans",
            "50000",
            "outside",
            "50,000 元超出 100,000–3,000,000 元的额度范围",
        ),
    ],
)
def test_the_amount_fit_says_whether_the_amount_asked_for_is_in_range(
    language, amount, state, sentence
):
    with translation.override(language):
        verdict = explain(_facts(), _product(), desired_amount=Decimal(amount))

    assert (verdict.amount_state, verdict.amount) == (state, sentence)


# --- years in business --------------------------------------------------------------


@pytest.mark.parametrize(
    ("founded", "today", "tenths"),
    [
        (dt.date(2019, 5, 1), dt.date(2025, 5, 1), 60),
        (dt.date(2019, 5, 1), dt.date(2025, 4, 30), 59),
        (dt.date(2019, 5, 1), dt.date(2019, 5, 1), 0),
        (dt.date(2019, 5, 1), dt.date(2018, 1, 1), 0),
        (dt.date(2024, 3, 10), dt.date(2026, 1, 15), 18),
        (dt.date(2020, 2, 29), dt.date(2021, 2, 28), 10),
        (dt.date(2020, 2, 29), dt.date(2021, 2, 27), 9),
    ],
)
def test_years_in_business_are_counted_by_anniversary_in_tenths(founded, today, tenths):
    assert years_tenths(founded, today) == tenths


def test_the_day_a_minimum_is_reached_is_the_first_day_it_passes():
    founded = dt.date(2024, 3, 10)
    for tenths in (1, 5, 25, 30, 32):
        reached = date_reaching(founded, tenths)
        assert years_tenths(founded, reached) >= tenths
        assert years_tenths(founded, reached - dt.timedelta(days=1)) < tenths


def test_facts_come_from_the_scores_snapshot_and_todays_date_in_shenzhen():
    facts = facts_from(
        grade="B",
        founded_on=dt.date(2020, 1, 1),
        district="440305",
        industry="I",
        features={
            "tax_credit_grade": 2.0,
            "dishonest_debtor": 0.0,
            "unrepaired_penalties": 2.0,
            "serious_penalties_36m": None,
            "penalties_24m": 5.0,
        },
        today=dt.date(2026, 1, 1),
    )

    assert (
        facts.grade,
        facts.years_tenths,
        facts.tax_credit_grade,
        facts.dishonest_debtor,
        facts.unrepaired_penalties,
        facts.serious_penalties,
        facts.penalty_state,
    ) == ("B", 60, "M", False, 2, None, matching.PENALTY_UNKNOWN)


# --- ranking ------------------------------------------------------------------------


def _hand_made_catalogue():
    """Four products a grade-B enterprise (6 years, tax grade B) is eligible for,
    and one it is not (the cheapest)."""
    return [
        _product(1, rate=("4.00", "6.00")),
        _product(2, min_grade="B", min_years="5", min_tax="B", rate=("3.00", "5.00")),
        _product(
            3,
            min_grade="C",
            min_years="3",
            rate=("3.50", "5.50"),
            amount=("1000000.00", "5000000.00"),
        ),
        _product(4, rate=("6.00", "8.00")),
        _product(5, min_grade="A", rate=("2.00", "3.00")),
    ]


def test_the_ranking_blends_margin_rate_amount_fit_and_response():
    ranking = rank(_facts(), _hand_made_catalogue(), desired_amount=Decimal("500000"))

    assert [match.pk for match in ranking.eligible] == [1, 2, 3, 4]
    assert [match.pk for match in ranking.near_misses] == [5]
    scores = {match.pk: round(match.score, 4) for match in ranking.eligible}
    # margin: (grade, years, tax) above each threshold, averaged; rate over 3.00–6.00.
    assert scores == {1: 0.7653, 2: 0.6233, 3: 0.5381, 4: 0.5319}
    first = ranking.eligible[0]
    assert (
        round(first.margin, 4),
        round(first.rate, 4),
        first.amount,
        first.response,
    ) == (0.8056, 0.6667, 1.0, 0.5)


def test_without_an_amount_the_amount_fit_is_neutral_and_the_order_follows_the_rest():
    ranking = rank(_facts(), _hand_made_catalogue())

    assert [match.pk for match in ranking.eligible] == [1, 3, 2, 4]
    assert {match.amount for match in ranking.eligible} == {0.5}


def test_ties_go_to_the_lower_rate_then_the_older_product():
    rows = [_product(pk, rate=("4.00", "5.00")) for pk in (7, 3, 5)]

    assert [match.pk for match in rank(_facts(), rows).eligible] == [3, 5, 7]


def test_the_weights_sum_to_one():
    weights = matching.RANKING_WEIGHTS
    total = weights.margin + weights.rate + weights.amount + weights.response
    assert total == pytest.approx(1.0, abs=1e-12)
