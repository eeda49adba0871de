"""Explained matching: which listed products an enterprise is eligible for, why, and in
what order.

The engine is plain Python on two compact inputs, so one enterprise is matched against
thousands of products in a few milliseconds and a fixed number of SQL queries:

* ``EnterpriseFacts`` — what the rules are checked against: the grade of the
  enterprise's current score, its years in business (today, Asia/Shanghai), its
  district and industry, and the three values taken from **the score's own feature
  snapshot** (tax credit grade, dishonest-debtor flag, unrepaired and serious
  penalties), so a verdict is the one the score was computed on;
* ``CatalogueRow`` — one listed product: its ``Rules`` (the eligibility columns as
  integers, booleans and frozen sets), amounts and rates
  (``marketplace.selectors.matching_catalogue`` builds and caches them; no model
  instance is made).

``rule_failures`` is the single test of every rule; ``rank`` and ``explain`` both use
it, so a ranked product always passes every rule its card shows and a "why not"
always names a rule that really fails. An ineligible product (one failing rule or
more) is never ranked; a *near miss* fails exactly one. ``rank`` judges each distinct
set of rules once and keeps only as many matches as a page shows.

The ranking blends four components, each 0..1, with ``RANKING_WEIGHTS`` (the one place
the weights live; ``docs/architecture.md`` "Matching" explains them too).
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.utils import formats, translation
from django.utils.translation import gettext, ngettext, pgettext

from core.codes import DISTRICTS, INDUSTRIES, Category
from core.labels import label
from core.templatetags.formatting import join_list
from lenders.models import LoanProduct

#: Where "today" is for years in business (the platform serves Shenzhen).
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

# --- the rules ------------------------------------------------------------------------

GRADE = "grade"
YEARS = "years"
DISTRICT = "district"
INDUSTRY = "industry"
TAX_GRADE = "tax_grade"
DISHONEST = "dishonest"
SERIOUS_PENALTY = "serious_penalty"
#: Every eligibility rule of ``lenders.models.LoanProduct``, in the order a verdict
#: lists them.
RULES = (GRADE, YEARS, DISTRICT, INDUSTRY, TAX_GRADE, DISHONEST, SERIOUS_PENALTY)

#: Credit grades, A best … D worst, as points (higher is better).
GRADE_POINTS = {"A": 4, "B": 3, "C": 2, "D": 1}
GRADE_BY_POINTS = {points: grade for grade, points in GRADE_POINTS.items()}
#: Tax credit grades A > B > M > C > D: the points ``scoring.features`` stores for the
#: ``tax_credit_grade`` feature (``features.GRADE_POINTS``; a test keeps them equal).
TAX_GRADE_POINTS = {"A": 4, "B": 3, "M": 2, "C": 1, "D": 0}
TAX_GRADE_BY_POINTS = {points: grade for grade, points in TAX_GRADE_POINTS.items()}

#: The feature snapshot's names the rules read (``scoring.features.FEATURES``; the
#: names are repeated here so that matching does not import the numerical stack).
FEATURE_TAX_CREDIT_GRADE = "tax_credit_grade"
FEATURE_DISHONEST_DEBTOR = "dishonest_debtor"
#: Penalties not repaired as of the score's date, of any severity.
FEATURE_UNREPAIRED_PENALTIES = "unrepaired_penalties"
#: Serious penalties decided in the 36 months before the score's date, repaired or not.
FEATURE_SERIOUS_PENALTIES = "serious_penalties_36m"
SNAPSHOT_FEATURES = (
    FEATURE_TAX_CREDIT_GRADE,
    FEATURE_DISHONEST_DEBTOR,
    FEATURE_UNREPAIRED_PENALTIES,
    FEATURE_SERIOUS_PENALTIES,
)

#: The category an SME must authorize for the platform to know a snapshot value.
CATEGORY_OF_RULE = {
    TAX_GRADE: Category.TAX,
    DISHONEST: Category.COURT,
    SERIOUS_PENALTY: Category.ADMINISTRATIVE,
}

#: Whether the enterprise has an unrepaired serious administrative penalty.
PENALTY_CLEAR = "clear"
PENALTY_UNREPAIRED = "unrepaired"
PENALTY_UNKNOWN = "unknown"


# --- the ranking ----------------------------------------------------------------------


@dataclass(frozen=True)
class RankingWeights:
    """How much each component counts in a match's rank; they sum to 1.

    * ``margin`` (0.35) — how far the enterprise is above the product's thresholds
      (credit grade, years in business, tax credit grade; each normalised to 0..1 and
      averaged). A product the enterprise passes with room to spare is the one the
      bank is most likely to approve, and a product it only just passes is the one a
      rescore can take away: being approved is what the SME came for.
    * ``rate`` (0.35) — the product's lowest advertised annual rate, lower is better,
      normalised over the candidate set (the cheapest 1, the dearest 0). It is what the
      SME pays, so it weighs as much as the likelihood of approval.
    * ``amount`` (0.20) — whether the amount the SME asked for lies in the product's
      range (1 inside, 0 outside, 0.5 when no amount was given: neutral). Less than
      rate or margin because an amount outside the range can often be met by a
      smaller or a second loan, and most SMEs compare before fixing an amount.
    * ``response`` (0.10) — the bank's response record (``lender_response_factor``).
      Small, because the promised response time is already on every card and the
      record is only a tie-breaker between otherwise equal offers; it is 0.5 for
      every bank until response metrics exist (issue 15), so today it moves nothing.

    Ties are broken by the lower minimum rate, then by the product's key.
    """

    margin: float = 0.35
    rate: float = 0.35
    amount: float = 0.20
    response: float = 0.10


RANKING_WEIGHTS = RankingWeights()
#: Years above a product's minimum at which the years component of the margin is full:
#: five more years of trading than required is as safe as the rule can say.
YEARS_FULL_MARGIN = 5
#: The response factor of a bank with no record (and of every bank until issue 15).
NEUTRAL_RESPONSE = 0.5
#: The amount component without a requested amount.
NEUTRAL_AMOUNT = 0.5


def lender_response_factor(lender_pk: int) -> float:
    """The bank's response record, 0 (slowest) … 1 (fastest), 0.5 neutral.

    Neutral for every bank until the marketplace measures responses (issue 15). When
    it does, this must read a precomputed value (one query for all banks of a
    ranking, or the cache), never a query per bank: matching's query count is fixed.
    """
    return NEUTRAL_RESPONSE


# --- inputs ---------------------------------------------------------------------------


class Rules(NamedTuple):
    """A product's eligibility rules, compact: ``min_grade`` and ``min_tax_grade`` in
    points (0 / -1: no rule), the minimum years in tenths, an empty ``districts`` or
    ``industries`` for every district / industry. Products with the same rules are
    judged once per ranking (many products share their bank's thresholds)."""

    min_grade: int
    min_years_tenths: int
    min_tax_grade: int
    excludes_dishonest_debtors: bool
    excludes_unrepaired_serious_penalty: bool
    districts: frozenset[str]
    industries: frozenset[str]


class CatalogueRow(NamedTuple):
    """One listed product as matching reads it (no model instance). Amounts in fen
    (cents) and rates in basis points are integers, so a cached catalogue of
    thousands of rows is small and quick to load."""

    pk: int
    lender_pk: int
    rules: Rules
    amount_min_fen: int
    amount_max_fen: int
    rate_min_bp: int
    rate_max_bp: int


def to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def to_basis_points(rate: Decimal) -> int:
    return int((rate * 100).to_integral_value())


#: What ``catalogue_row`` takes, in its order: these ``LoanProduct`` columns, those of
#: ``CATALOGUE_SCALES`` as integers (×10 for the years: tenths; ×100 for the amounts:
#: fen, and the rates: basis points). The selector has the database scale them, so
#: building a catalogue of thousands of rows makes no ``Decimal``.
CATALOGUE_COLUMNS = (
    "pk",
    "lender_id",
    "min_grade",
    "min_years_in_business",
    "min_tax_credit_grade",
    "excludes_dishonest_debtors",
    "excludes_unrepaired_serious_penalty",
    "amount_min",
    "amount_max",
    "rate_min",
    "rate_max",
)
CATALOGUE_SCALES = {
    "min_years_in_business": 10,
    "amount_min": 100,
    "amount_max": 100,
    "rate_min": 100,
    "rate_max": 100,
}


def scaled(values: Sequence) -> tuple:
    """``CATALOGUE_COLUMNS`` values as stored (``Decimal``) → as ``catalogue_row``
    takes them. Exact: the columns have at most as many decimal places as their
    scale has zeros."""
    return tuple(
        int((Decimal(value) * CATALOGUE_SCALES[name]).to_integral_value())
        if name in CATALOGUE_SCALES
        else value
        for name, value in zip(CATALOGUE_COLUMNS, values, strict=True)
    )


def catalogue_row(
    values: Sequence,
    *,
    districts: Iterable[str] = (),
    industries: Iterable[str] = (),
    shared: dict[Rules, Rules] | None = None,
) -> CatalogueRow:
    """A row from ``CATALOGUE_COLUMNS`` values, scaled (``scaled``). With ``shared``
    (one dictionary for a whole catalogue), products with equal rules share one
    ``Rules`` object: the cached catalogue stores it once."""
    (
        pk,
        lender_pk,
        min_grade,
        min_years_tenths,
        min_tax_grade,
        excludes_dishonest,
        excludes_serious,
        amount_min_fen,
        amount_max_fen,
        rate_min_bp,
        rate_max_bp,
    ) = values
    # tuple.__new__: the named tuples' own __new__ is Python code, run per product.
    new = tuple.__new__
    rules = new(
        Rules,
        (
            GRADE_POINTS.get(min_grade, 0),
            min_years_tenths,
            TAX_GRADE_POINTS.get(min_tax_grade, -1),
            bool(excludes_dishonest),
            bool(excludes_serious),
            frozenset(districts),
            frozenset(industries),
        ),
    )
    if shared is not None:
        rules = shared.setdefault(rules, rules)
    return new(
        CatalogueRow,
        (
            pk,
            lender_pk,
            rules,
            amount_min_fen,
            amount_max_fen,
            rate_min_bp,
            rate_max_bp,
        ),
    )


class LazyReasons(Sequence):
    """A score's explained reasons, built on first use: only a near miss on the grade
    cites them, and building them imports the scoring stack."""

    def __init__(self, load) -> None:
        self._load = load
        self._items: list | None = None

    def _all(self) -> list:
        if self._items is None:
            self._items = list(self._load())
        return self._items

    def __getitem__(self, index):  # type: ignore[override]
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())


@dataclass(frozen=True)
class EnterpriseFacts:
    """What the rules are checked against. ``years_tenths`` is the years in business
    in whole tenths, rounded down: the same number is compared and shown, so a card
    never says "2.9 years ≥ 3". ``None`` snapshot values: the score has no data."""

    grade: str
    years_tenths: int
    founded_on: dt.date
    district: str
    industry: str
    tax_credit_grade: str | None
    dishonest_debtor: bool | None
    unrepaired_penalties: int | None
    serious_penalties: int | None
    #: The score's explained reasons (``CreditScore.explained_reasons``).
    reasons: Sequence[Mapping] = ()
    #: The date of the score's data (``CreditScore.as_of``), for the page to say.
    scored_on: dt.date | None = None

    @property
    def grade_points(self) -> int:
        return GRADE_POINTS[self.grade]

    @property
    def tax_points(self) -> int | None:
        if self.tax_credit_grade is None:
            return None
        return TAX_GRADE_POINTS[self.tax_credit_grade]

    @property
    def penalty_state(self) -> str:
        """``clear`` when the snapshot shows no unrepaired serious penalty: nothing
        unrepaired, or no serious penalty in 36 months — the longest a serious
        penalty stays published (双公示), after which it no longer counts against
        the enterprise. ``unrepaired`` when it has both; ``unknown`` without data."""
        if self.unrepaired_penalties == 0 or self.serious_penalties == 0:
            return PENALTY_CLEAR
        if self.unrepaired_penalties is None or self.serious_penalties is None:
            return PENALTY_UNKNOWN
        return PENALTY_UNREPAIRED


def local_today() -> dt.date:
    return dt.datetime.now(LOCAL_ZONE).date()


def _anniversary(founded_on: dt.date, years: int) -> dt.date:
    try:
        return founded_on.replace(year=founded_on.year + years)
    except ValueError:  # founded on 29 February: the anniversary is 28 February
        return founded_on.replace(year=founded_on.year + years, day=28)


def years_tenths(founded_on: dt.date, today: dt.date) -> int:
    """Years from ``founded_on`` to ``today`` in tenths, rounded down: whole years by
    anniversary, the fraction by days into the current year of trading."""
    if today <= founded_on:
        return 0
    full = today.year - founded_on.year
    if _anniversary(founded_on, full) > today:
        full -= 1
    start, end = _anniversary(founded_on, full), _anniversary(founded_on, full + 1)
    fraction = (today - start).days / (end - start).days
    return full * 10 + math.floor(fraction * 10 + 1e-9)


def date_reaching(founded_on: dt.date, tenths: int) -> dt.date:
    """The first day ``years_tenths`` is at least ``tenths``."""
    full, part = divmod(tenths, 10)
    start, end = _anniversary(founded_on, full), _anniversary(founded_on, full + 1)
    return start + dt.timedelta(days=math.ceil(part * (end - start).days / 10))


def _count(value: float | None) -> int | None:
    return None if value is None else round(value)


def facts_from(
    *,
    grade: str,
    founded_on: dt.date,
    district: str,
    industry: str,
    features: Mapping[str, float | None],
    reasons: Sequence[Mapping] = (),
    scored_on: dt.date | None = None,
    today: dt.date | None = None,
) -> EnterpriseFacts:
    """The facts of an enterprise whose current score has ``grade``, ``features``
    (``CreditScore.features``: the model's inputs, ``None`` where missing) and
    ``reasons`` (``CreditScore.explained_reasons``)."""
    tax_points = features.get(FEATURE_TAX_CREDIT_GRADE)
    dishonest = features.get(FEATURE_DISHONEST_DEBTOR)
    return EnterpriseFacts(
        grade=grade,
        years_tenths=years_tenths(founded_on, today or local_today()),
        founded_on=founded_on,
        district=district,
        industry=industry,
        tax_credit_grade=(
            None if tax_points is None else TAX_GRADE_BY_POINTS.get(round(tax_points))
        ),
        dishonest_debtor=None if dishonest is None else bool(dishonest),
        unrepaired_penalties=_count(features.get(FEATURE_UNREPAIRED_PENALTIES)),
        serious_penalties=_count(features.get(FEATURE_SERIOUS_PENALTIES)),
        reasons=reasons,
        scored_on=scored_on,
    )


# --- the one test of every rule -------------------------------------------------------


def failing_rules(facts: EnterpriseFacts, row: CatalogueRow) -> tuple[str, ...]:
    """The rules of ``row`` that ``facts`` fail (missing data fails), in ``RULES``
    order; empty: eligible."""
    return rule_failures(facts, row.rules)


def rule_failures(facts: EnterpriseFacts, rules: Rules) -> tuple[str, ...]:
    """``failing_rules`` of a product with ``rules``: the one test of every rule."""
    (
        min_grade,
        min_years_tenths,
        min_tax_grade,
        excludes_dishonest,
        excludes_serious,
        districts,
        industries,
    ) = rules
    failed: list[str] = []
    if min_grade and facts.grade_points < min_grade:
        failed.append(GRADE)
    if min_years_tenths and facts.years_tenths < min_years_tenths:
        failed.append(YEARS)
    if districts and facts.district not in districts:
        failed.append(DISTRICT)
    if industries and facts.industry not in industries:
        failed.append(INDUSTRY)
    if min_tax_grade >= 0:
        points = facts.tax_points
        if points is None or points < min_tax_grade:
            failed.append(TAX_GRADE)
    if excludes_dishonest and facts.dishonest_debtor is not False:
        failed.append(DISHONEST)
    if excludes_serious and facts.penalty_state != PENALTY_CLEAR:
        failed.append(SERIOUS_PENALTY)
    return tuple(failed)


def eligibility_margin(facts: EnterpriseFacts, rules: Rules) -> float:
    """How far above the thresholds, 0..1: the mean of the credit-grade, years and
    tax-grade margins. A product with no threshold is measured from the bottom of
    the scale (no minimum grade is the same as a minimum of D), so a stricter
    threshold never gives a larger margin; a failed threshold counts 0."""
    grade = max(facts.grade_points - max(rules.min_grade, 1), 0) / 3
    years = min(
        max(facts.years_tenths - rules.min_years_tenths, 0) / (YEARS_FULL_MARGIN * 10),
        1.0,
    )
    tax_points = facts.tax_points
    tax = (
        0.0
        if tax_points is None
        else max(tax_points - max(rules.min_tax_grade, 0), 0) / 4
    )
    return (grade + years + tax) / 3


def amount_fit(row: CatalogueRow, desired_fen: int | None) -> float:
    if desired_fen is None:
        return NEUTRAL_AMOUNT
    return 1.0 if row.amount_min_fen <= desired_fen <= row.amount_max_fen else 0.0


class Match(NamedTuple):
    """A product in a ranking: its blended score and components, and the rule it
    fails (near misses) or none (eligible)."""

    row: CatalogueRow
    score: float
    margin: float
    rate: float
    amount: float
    response: float
    failed: tuple[str, ...] = ()

    @property
    def pk(self) -> int:
        return self.row.pk


@dataclass(frozen=True)
class Ranking:
    """The eligible products, best first, and the near misses, best first: all of
    them, or the first ``limit`` / ``near_limit`` when ``rank`` was given limits;
    the counts are always of all of them."""

    eligible: list[Match]
    near_misses: list[Match]
    eligible_count: int
    near_count: int


#: How ``rank`` classes a set of rules: eligible, a near miss, or neither.
_ELIGIBLE, _NEAR, _OUT = 0, 1, 2


def rank(
    facts: EnterpriseFacts,
    rows: Iterable[CatalogueRow],
    *,
    desired_amount: Decimal | None = None,
    weights: RankingWeights = RANKING_WEIGHTS,
    limit: int | None = None,
    near_limit: int | None = None,
) -> Ranking:
    """The eligible products ranked, and the near misses (exactly one failing rule)
    ranked among themselves the same way; every other product is left out. The rate
    is normalised over each list's own candidates. Ties go to the lower minimum rate,
    then to the lower key.

    With a limit, only the best ``limit`` are kept (``heapq.nsmallest``, the same
    order as a full sort): a dashboard showing five keeps five, not thousands of
    objects that would outlive the request's garbage collections.
    """
    rows = rows if isinstance(rows, (list, tuple)) else list(rows)
    desired_fen = None if desired_amount is None else to_fen(desired_amount)
    # Each distinct set of rules is judged once (products share their thresholds);
    # ``verdicts`` holds each row's (shared) verdict for the second pass.
    judged: dict[Rules, tuple[tuple[str, ...], float, int]] = {}
    verdicts = []
    count = [0, 0]
    cheapest = [math.inf, math.inf]
    dearest = [-math.inf, -math.inf]
    for row in rows:
        rules = row[2]
        verdict = judged.get(rules)
        if verdict is None:
            failed = rule_failures(facts, rules)
            kind = _ELIGIBLE if not failed else _NEAR if len(failed) == 1 else _OUT
            verdict = judged[rules] = (failed, eligibility_margin(facts, rules), kind)
        verdicts.append(verdict)
        kind = verdict[2]
        if kind != _OUT:
            count[kind] += 1
            rate = row[5]
            if rate < cheapest[kind]:
                cheapest[kind] = rate
            if rate > dearest[kind]:
                dearest[kind] = rate
    best = [
        _best(
            rows,
            verdicts,
            kind,
            cheapest[kind],
            dearest[kind],
            desired_fen,
            weights,
            kind_limit,
        )
        if count[kind]
        else []
        for kind, kind_limit in ((_ELIGIBLE, limit), (_NEAR, near_limit))
    ]
    return Ranking(
        eligible=best[0],
        near_misses=best[1],
        eligible_count=count[_ELIGIBLE],
        near_count=count[_NEAR],
    )


def _best(
    rows: Sequence[CatalogueRow],
    verdicts: list[tuple[tuple[str, ...], float, int]],
    kind: int,
    cheapest: float,
    dearest: float,
    desired_fen: int | None,
    weights: RankingWeights,
    limit: int | None,
) -> list[Match]:
    """The rows of ``kind`` scored and sorted, best first (the first ``limit``).
    Plain arithmetic on locals: this runs for thousands of products per request."""
    spread = dearest - cheapest
    margin_weight, rate_weight = weights.margin, weights.rate
    amount_weight, response_weight = weights.amount, weights.response
    responses: dict[int, float] = {}

    def scored():
        # (-score, rate, key, ...): compared as plain tuples; the key is unique, so
        # nothing after it is ever compared.
        for row, (failed, margin, row_kind) in zip(rows, verdicts, strict=True):
            if row_kind != kind:
                continue
            pk, lender_pk, _rules, amount_min, amount_max, rate_min, _rate_max = row
            response = responses.get(lender_pk)
            if response is None:
                response = responses[lender_pk] = lender_response_factor(lender_pk)
            rate = (dearest - rate_min) / spread if spread else 1.0
            if desired_fen is None:
                amount = NEUTRAL_AMOUNT
            else:
                amount = 1.0 if amount_min <= desired_fen <= amount_max else 0.0
            score = (
                margin_weight * margin
                + rate_weight * rate
                + amount_weight * amount
                + response_weight * response
            )
            yield (-score, rate_min, pk, row, margin, rate, amount, response, failed)

    top = sorted(scored()) if limit is None else heapq.nsmallest(limit, scored())
    # Made with tuple.__new__: the named tuple's own __new__ is Python code.
    new = tuple.__new__
    return [
        new(Match, (row, -negative, margin, rate, amount, response, failed))
        for negative, _rate, _pk, row, margin, rate, amount, response, failed in top
    ]


# --- explanations (in the active language) --------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    """One rule of a product for one enterprise: a sentence with the enterprise's own
    value and, when it fails, what would change it."""

    rule: str
    passed: bool
    sentence: str
    change: str = ""
    #: Failed because the score has no data for it.
    missing: bool = False


@dataclass(frozen=True)
class Verdict:
    """Every rule of one product for one enterprise, with the rate and amount fit."""

    product_pk: int
    passes: tuple[RuleResult, ...]
    failures: tuple[RuleResult, ...]
    rate: str
    amount: str
    #: "fits", "outside" or "neutral" (no amount asked for).
    amount_state: str

    @property
    def eligible(self) -> bool:
        return not self.failures

    @property
    def near_miss(self) -> bool:
        return len(self.failures) == 1


def _grade_text(points: int) -> str:
    return GRADE_BY_POINTS[points]


def _tenths_text(tenths: int) -> str:
    whole, part = divmod(tenths, 10)
    return str(whole) if part == 0 else f"{whole}.{part}"


def _places(codes: Iterable[str], choices: Mapping) -> str:
    return join_list(label(choices, code) for code in sorted(codes))


def cny(fen: int) -> str:
    """``10000000`` (fen) → ``"100,000"``; cents only when there are any (as the
    product supermarket writes amounts)."""
    yuan, cents = divmod(fen, 100)
    return f"{yuan:,}" if not cents else f"{yuan:,}.{cents:02d}"


def _span(low: str, high: str) -> str:
    return low if low == high else f"{low}–{high}"


def rate_range(row: CatalogueRow) -> str:
    return _span(f"{row.rate_min_bp / 100:.2f}%", f"{row.rate_max_bp / 100:.2f}%")


def amount_range(row: CatalogueRow) -> str:
    return _span(cny(row.amount_min_fen), cny(row.amount_max_fen))


#: How many of the score's reasons a "why not" on the grade cites.
REASONS_CITED = 3


def _reason_texts(reasons: Sequence[Mapping]) -> list[str]:
    """The reasons' sentences in the active language (they are stored in both)."""
    english = (translation.get_language() or "").startswith("en")
    return [reason["text_en" if english else "text_zh"] for reason in reasons]


def _missing(rule: str) -> RuleResult:
    subjects = {
        TAX_GRADE: pgettext("missing data", "your tax credit grade"),
        DISHONEST: pgettext("missing data", "dishonest judgement debtor listings"),
        SERIOUS_PENALTY: pgettext("missing data", "administrative penalties"),
    }
    return RuleResult(
        rule=rule,
        passed=False,
        sentence=gettext(
            "We have no data on %(subject)s — authorize the category “%(category)s”."
        )
        % {
            "subject": subjects[rule],
            "category": CATEGORY_OF_RULE[rule].label,
        },
        change=gettext(
            "Once the data is pulled your enterprise is scored again and this rule "
            "is checked."
        ),
        missing=True,
    )


def _grade_result(facts: EnterpriseFacts, rules: Rules, passed: bool):
    values = {
        "grade": facts.grade,
        "required": _grade_text(rules.min_grade),
    }
    if passed:
        return RuleResult(
            GRADE,
            True,
            gettext("Credit grade %(grade)s ≥ required %(required)s") % values,
        )
    shown = facts.reasons[:REASONS_CITED]
    if shown:
        reasons = {"reasons": join_list(_reason_texts(shown))}
        if any(reason.get("factor") == "penalties" for reason in shown):
            # A penalty can be repaired (信用修复) or objected to: say that it counts.
            change = (
                gettext(
                    "What weighs most on your grade: %(reasons)s. A credit repair of "
                    "a penalty, or a successful objection to a wrong record, would "
                    "count at your next score."
                )
                % reasons
            )
        else:
            change = gettext("What weighs most on your grade: %(reasons)s.") % reasons
    else:
        change = gettext(
            "Your grade follows your public credit data: it is scored again whenever "
            "new data arrives."
        )
    return RuleResult(
        GRADE,
        False,
        gettext("Needs credit grade %(required)s; you are %(grade)s") % values,
        change,
    )


def _years_result(facts: EnterpriseFacts, rules: Rules, passed: bool):
    values = {
        "years": _tenths_text(facts.years_tenths),
        "required": _tenths_text(rules.min_years_tenths),
    }
    if passed:
        return RuleResult(
            YEARS,
            True,
            gettext("Founded %(years)s years ago ≥ %(required)s years") % values,
        )
    reached = date_reaching(facts.founded_on, rules.min_years_tenths)
    return RuleResult(
        YEARS,
        False,
        gettext("Founded %(years)s years ago; needs %(required)s years") % values,
        gettext("You reach %(required)s years on %(date)s.")
        % {
            "required": values["required"],
            "date": formats.date_format(reached, "DATE_FORMAT"),
        },
    )


def _district_result(facts: EnterpriseFacts, rules: Rules, passed: bool):
    district = label(DISTRICTS, facts.district)
    if not rules.districts:
        return RuleResult(
            DISTRICT,
            True,
            gettext("Serves the whole city, %(district)s included")
            % {"district": district},
        )
    if passed:
        return RuleResult(
            DISTRICT, True, gettext("Serves %(district)s") % {"district": district}
        )
    return RuleResult(
        DISTRICT,
        False,
        gettext("Does not serve %(district)s (serves %(districts)s)")
        % {"district": district, "districts": _places(rules.districts, DISTRICTS)},
        gettext("Only enterprises registered in these districts can apply."),
    )


def _industry_result(facts: EnterpriseFacts, rules: Rules, passed: bool):
    industry = label(INDUSTRIES, facts.industry)
    if not rules.industries:
        return RuleResult(
            INDUSTRY,
            True,
            gettext("Open to every industry, %(industry)s included")
            % {"industry": industry},
        )
    if passed:
        return RuleResult(
            INDUSTRY, True, gettext("Open to %(industry)s") % {"industry": industry}
        )
    return RuleResult(
        INDUSTRY,
        False,
        gettext("Not open to %(industry)s (open to %(industries)s)")
        % {"industry": industry, "industries": _places(rules.industries, INDUSTRIES)},
        gettext("Only enterprises in these industries can apply."),
    )


def _tax_result(facts: EnterpriseFacts, rules: Rules, passed: bool):
    if facts.tax_credit_grade is None:
        return _missing(TAX_GRADE)
    values = {
        "grade": facts.tax_credit_grade,
        "required": TAX_GRADE_BY_POINTS[rules.min_tax_grade],
    }
    if passed:
        return RuleResult(
            TAX_GRADE,
            True,
            gettext("Tax credit grade %(grade)s ≥ required %(required)s") % values,
        )
    return RuleResult(
        TAX_GRADE,
        False,
        gettext("Tax credit grade %(grade)s; needs %(required)s") % values,
        gettext(
            "The tax bureau rates taxpayers once a year; filing and paying on time "
            "raises the grade."
        ),
    )


def _dishonest_result(facts: EnterpriseFacts, rules: Rules, passed: bool):
    if facts.dishonest_debtor is None:
        return _missing(DISHONEST)
    if passed:
        return RuleResult(
            DISHONEST, True, gettext("Not listed as a dishonest judgement debtor")
        )
    return RuleResult(
        DISHONEST,
        False,
        gettext("Listed as a dishonest judgement debtor"),
        gettext(
            "The listing ends once the judgement is performed and the court removes "
            "it; then this rule passes."
        ),
    )


def _penalty_result(facts: EnterpriseFacts, rules: Rules, passed: bool):
    state = facts.penalty_state
    if state == PENALTY_UNKNOWN:
        return _missing(SERIOUS_PENALTY)
    if passed:
        if facts.unrepaired_penalties == 0:
            sentence = gettext("No administrative penalty left unrepaired")
        else:
            sentence = gettext(
                "No serious administrative penalty in the last 36 months"
            )
        return RuleResult(SERIOUS_PENALTY, True, sentence)
    unrepaired = facts.unrepaired_penalties or 0
    return RuleResult(
        SERIOUS_PENALTY,
        False,
        ngettext(
            "%(unrepaired)s penalty not yet repaired, and %(serious)s serious "
            "penalties in the last 36 months",
            "%(unrepaired)s penalties not yet repaired, and %(serious)s serious "
            "penalties in the last 36 months",
            unrepaired,
        )
        % {"unrepaired": unrepaired, "serious": facts.serious_penalties},
        gettext(
            "A credit repair (信用修复) of the unrepaired penalties, or a successful "
            "objection to a wrong record, would count at your next score."
        ),
    )


_EXPLAIN = {
    GRADE: _grade_result,
    YEARS: _years_result,
    DISTRICT: _district_result,
    INDUSTRY: _industry_result,
    TAX_GRADE: _tax_result,
    DISHONEST: _dishonest_result,
    SERIOUS_PENALTY: _penalty_result,
}


def _applies(rule: str, rules: Rules) -> bool:
    """Whether the product has the rule (districts and industries always apply:
    "city-wide" and "every industry" are said too)."""
    return {
        GRADE: bool(rules.min_grade),
        YEARS: bool(rules.min_years_tenths),
        DISTRICT: True,
        INDUSTRY: True,
        TAX_GRADE: rules.min_tax_grade >= 0,
        DISHONEST: rules.excludes_dishonest_debtors,
        SERIOUS_PENALTY: rules.excludes_unrepaired_serious_penalty,
    }[rule]


def explain(
    facts: EnterpriseFacts,
    row: CatalogueRow,
    *,
    desired_amount: Decimal | None = None,
) -> Verdict:
    """Every rule of ``row`` for ``facts`` in words, in the active language; which
    pass and which fail is ``failing_rules``'s answer."""
    failed = set(failing_rules(facts, row))
    results = [
        _EXPLAIN[rule](facts, row.rules, rule not in failed)
        for rule in RULES
        if _applies(rule, row.rules)
    ]
    values = {"range": amount_range(row)}
    if desired_amount is None:
        state = "neutral"
        amount = gettext("Amount CNY %(range)s") % values
    else:
        values["amount"] = cny(to_fen(desired_amount))
        if amount_fit(row, to_fen(desired_amount)):
            state = "fits"
            amount = (
                gettext("CNY %(amount)s is within the range CNY %(range)s") % values
            )
        else:
            state = "outside"
            amount = (
                gettext("CNY %(amount)s is outside the range CNY %(range)s") % values
            )
    return Verdict(
        product_pk=row.pk,
        passes=tuple(result for result in results if result.passed),
        failures=tuple(result for result in results if not result.passed),
        rate=gettext("Annual rate %(range)s") % {"range": rate_range(row)},
        amount=amount,
        amount_state=state,
    )


# --- what the selectors hand to the pages ---------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """The listed products' rows as of ``fingerprint`` (``matching_catalogue``)."""

    fingerprint: str
    rows: tuple[CatalogueRow, ...]
    by_pk: Mapping[int, CatalogueRow]


@dataclass(frozen=True)
class MatchCard:
    """One product as a match card or a product page shows it: the product (with
    its bank, for the names), its type's label, the verdict in words (``None``:
    the enterprise has no score to judge by) and, for a ranked product, its place
    (1 = best)."""

    product: LoanProduct
    product_type: str
    verdict: Verdict | None
    match: Match | None = None
    position: int | None = None
