"""Matching against the database: a fixed number of queries whatever the size of the
catalogue, the cached catalogue following every change, and the pages that show the
matches (the SME's matches page, the dashboard panel and the product page's verdict,
both htmx fragments) in both languages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lenders.models import LoanProduct, ProductStatus
from marketplace import selectors
from marketplace.matching import (
    CATALOGUE_COLUMNS,
    Rules,
    catalogue_row,
    failing_rules,
    scaled,
)
from tests.factories import UserFactory
from tests.factories.borrowers import enterprise_with_owner
from tests.factories.lenders import LenderFactory, listed_product
from tests.factories.scoring import stored_score

pytestmark = pytest.mark.django_db

#: A clean snapshot: tax credit grade B, no dishonest-debtor listing, no penalties.
CLEAN = {
    "tax_credit_grade": 3.0,
    "dishonest_debtor": 0.0,
    "unrepaired_penalties": 0.0,
    "serious_penalties_36m": 0.0,
}
PENALTY_REASONS = [
    {"factor": "penalties", "feature": "unrepaired_penalties", "contribution": 0.8}
]


def _sme(grade: str = "B", features=None, reasons=None):
    """An SME (Nanshan, IT, founded 2018) with a stored score of ``grade``."""
    enterprise, owner = enterprise_with_owner()
    stored_score(
        enterprise,
        grade=grade,
        features=CLEAN if features is None else features,
        reasons=reasons,
    )
    return enterprise, owner


def _catalogue(eligible: int, near: int = 0, ineligible: int = 0, lender=None):
    """Listed products of one bank: ``eligible`` a grade-B SME of Nanshan qualifies
    for, ``near`` it misses on the grade only, ``ineligible`` it misses on two rules."""
    lender = lender or LenderFactory()
    made = {"eligible": [], "near": [], "ineligible": []}
    for number in range(eligible):
        made["eligible"].append(
            listed_product(
                lender=lender,
                name=f"匹配贷{number}号",
                min_grade="C",
                min_years_in_business=Decimal("2"),
                rate_min=Decimal("3.00") + Decimal(number % 30) / 10,
                regions=("440305",) if number % 2 else (),
                industries=("I", "C") if number % 3 else (),
            )
        )
    for number in range(near):
        made["near"].append(
            listed_product(lender=lender, name=f"差一点贷{number}号", min_grade="A")
        )
    for number in range(ineligible):
        made["ineligible"].append(
            listed_product(
                lender=lender,
                name=f"不符合贷{number}号",
                min_grade="A",
                regions=("440303",),
            )
        )
    return made


def _cold() -> None:
    cache.clear()
    selectors.matching_catalogue_forget()


def _match(enterprise):
    facts = selectors.enterprise_match_facts(enterprise=enterprise)
    ranking = selectors.enterprise_ranking(facts=facts)
    cards = selectors.match_cards(
        facts=facts, matches=[*ranking.eligible[:20], *ranking.near_misses[:20]]
    )
    return ranking, cards


# --- queries ------------------------------------------------------------------------


@pytest.mark.parametrize("products", [10, 200])
def test_matching_reads_a_fixed_number_of_queries_whatever_the_catalogue_size(
    django_assert_num_queries, products
):
    enterprise, _owner = _sme()
    _catalogue(eligible=products - 4, near=2, ineligible=2)

    # Cold: the score (3: score, vector, feature names), the catalogue's fingerprint
    # and its three reads, the page's products (1).
    with django_assert_num_queries(8):
        ranking, cards = _match(enterprise)
    # Warm: the catalogue is this process's copy; only its fingerprint is read.
    with django_assert_num_queries(5):
        _match(enterprise)
    # Another process: the shared cache holds it.
    selectors.matching_catalogue_forget()
    with django_assert_num_queries(5):
        _match(enterprise)

    assert (len(ranking.eligible), len(ranking.near_misses)) == (products - 4, 2)
    assert len(cards) == min(products - 4, 20) + 2


def _page_queries(client, path: str) -> int:
    _cold()
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_the_pages_query_the_same_for_10_and_200_products(client):
    _enterprise, owner = _sme()
    lender = LenderFactory()
    made = _catalogue(eligible=8, near=1, ineligible=1, lender=lender)
    client.force_login(owner)
    paths = [
        "/portal/enterprise/matches/",
        "/portal/enterprise/matches/top/",
        f"/portal/enterprise/matches/product/{made['eligible'][0].pk}/",
    ]
    # The session's first requests record it (django-allauth's user sessions).
    for _warm in range(3):
        client.get(paths[1])
    small = [_page_queries(client, path) for path in paths]

    _catalogue(eligible=150, near=30, ineligible=10, lender=lender)

    assert [_page_queries(client, path) for path in paths] == small


# --- the cached catalogue -----------------------------------------------------------


def test_the_catalogue_follows_a_listed_products_change(client):
    enterprise, _owner = _sme()
    made = _catalogue(eligible=3)
    first, second, third = made["eligible"]
    ranking, _cards = _match(enterprise)
    assert {match.pk for match in ranking.eligible} == {first.pk, second.pk, third.pk}

    # What the services do: change the row and save it (``updated_at``).
    LoanProduct.objects.filter(pk=first.pk).update(
        status=ProductStatus.DELISTED, updated_at=timezone.now()
    )
    LoanProduct.objects.filter(pk=second.pk).update(
        min_grade="A", updated_at=timezone.now()
    )
    ranking, _cards = _match(enterprise)

    assert [match.pk for match in ranking.eligible] == [third.pk]
    assert [(match.pk, match.failed) for match in ranking.near_misses] == [
        (second.pk, ("grade",))
    ]


def test_the_catalogue_reads_years_amounts_and_rates_exactly():
    product = listed_product(
        amount_min=Decimal("12345.67"),
        amount_max=Decimal("9876543.21"),
        rate_min=Decimal("3.45"),
        rate_max=Decimal("6.55"),
        min_years_in_business=Decimal("2.5"),
        min_grade="B",
        min_tax_credit_grade="M",
        excludes_dishonest_debtors=False,
        regions=("440305", "440303"),
        industries=("I",),
    )
    product.refresh_from_db()

    row = selectors.matching_catalogue().by_pk[product.pk]

    assert row == (
        product.pk,
        product.lender_id,
        Rules(
            min_grade=3,
            min_years_tenths=25,
            min_tax_grade=2,
            excludes_dishonest_debtors=False,
            excludes_unrepaired_serious_penalty=True,
            districts=frozenset({"440305", "440303"}),
            industries=frozenset({"I"}),
        ),
        1234567,
        987654321,
        345,
        655,
    )
    assert row == catalogue_row(
        scaled([getattr(product, name) for name in CATALOGUE_COLUMNS]),
        districts=("440303", "440305"),
        industries=("I",),
    )


def test_matching_works_while_the_cache_is_down(monkeypatch):
    enterprise, _owner = _sme()
    made = _catalogue(eligible=2, near=1)

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)
    ranking, cards = _match(enterprise)
    selectors.matching_catalogue_forget()
    again, _cards = _match(enterprise)

    assert {match.pk for match in ranking.eligible} == {
        product.pk for product in made["eligible"]
    }
    assert [match.pk for match in again.eligible] == [
        match.pk for match in ranking.eligible
    ]
    assert [card.product.pk for card in cards][-1] == made["near"][0].pk


def test_a_real_score_is_matched_on_its_own_snapshot(scored_enterprise):
    """An enterprise pulled from the sandbox and scored by a trained model: every
    ranked product passes every rule for the facts read from that score."""
    enterprise, _owner = scored_enterprise
    _catalogue(eligible=5, near=3, ineligible=2)
    score = enterprise.credit_scores.get()

    facts = selectors.enterprise_match_facts(enterprise=enterprise)
    ranking = selectors.enterprise_ranking(facts=facts)

    assert facts.grade == score.grade
    assert facts.dishonest_debtor == bool(score.features["dishonest_debtor"])
    assert facts.unrepaired_penalties == round(score.features["unrepaired_penalties"])
    catalogue = selectors.matching_catalogue()
    for match in ranking.eligible:
        assert failing_rules(facts, catalogue.by_pk[match.pk]) == ()
    for match in ranking.near_misses:
        assert len(failing_rules(facts, catalogue.by_pk[match.pk])) == 1


# --- pages --------------------------------------------------------------------------


def test_the_dashboard_panel_shows_the_top_matches_then_the_near_misses(client):
    _enterprise, owner = _sme()
    made = _catalogue(eligible=7, near=4, ineligible=2)
    client.force_login(owner)

    response = client.get("/portal/enterprise/matches/top/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-kind="match"') == 5
    assert html.count('data-kind="near-miss"') == 3
    # Best first: the cheapest of the eligible products (the rest being equal).
    assert html.index("匹配贷0号") < html.index("差一点贷0号")
    assert "不符合贷" not in html
    assert "需要信用等级 A，您为 B" in html
    assert f'href="/products/{made["eligible"][0].pk}/"' in html
    assert "查看全部 7 个匹配产品" in html


def test_the_dashboard_panel_in_english(client):
    _enterprise, owner = _sme(grade="B", reasons=PENALTY_REASONS)
    _catalogue(eligible=1, near=1)
    client.force_login(owner)

    html = client.get("/en/portal/enterprise/matches/top/").content.decode()

    assert "Loan products that fit you" in html
    assert "Credit grade B ≥ required C" in html
    assert "Needs credit grade A; you are B" in html
    assert "A credit repair of a penalty" in html
    assert 'href="/en/products/' in html


@pytest.mark.parametrize(
    "path",
    [
        "/portal/enterprise/matches/top/",
        "/en/portal/enterprise/matches/top/",
        "/portal/enterprise/matches/product/{pk}/",
        "/en/portal/enterprise/matches/product/{pk}/",
    ],
)
@pytest.mark.parametrize("who", ["anonymous", "no enterprise"])
def test_the_fragments_are_empty_for_visitors_without_an_enterprise(client, path, who):
    product = listed_product()
    if who == "no enterprise":
        client.force_login(UserFactory())

    response = client.get(path.format(pk=product.pk))

    assert (response.status_code, response.content) == (204, b"")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "zh-hans",
            ["满足全部条件", "信用等级 B ≥ 要求 C", "成立 ", "服务全市，含南山区"],
        ),
        ("en", ["You meet every rule", "Credit grade B ≥ required C", "Founded "]),
    ],
)
def test_the_product_page_verdict_is_the_match_cards_verdict(
    client, language, expected
):
    _enterprise, owner = _sme()
    product = _catalogue(eligible=1)["eligible"][0]
    client.force_login(owner)
    prefix = "/en" if language == "en" else ""

    response = client.get(f"{prefix}/portal/enterprise/matches/product/{product.pk}/")
    card = client.get(f"{prefix}/portal/enterprise/matches/top/").content.decode()

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="product-verdict"' in html
    assert 'data-state="eligible"' in html
    for text in expected:
        assert text in html
    verdict_start = html.index('<div data-testid="verdict"')
    verdict = html[verdict_start : html.index("</div>", verdict_start)]
    assert verdict in card


def test_the_product_page_verdict_of_a_near_miss_says_why_not(client):
    _enterprise, owner = _sme(
        features={**CLEAN, "tax_credit_grade": None}, reasons=PENALTY_REASONS
    )
    product = listed_product(min_tax_credit_grade="B")
    client.force_login(owner)

    html = client.get(
        f"/portal/enterprise/matches/product/{product.pk}/"
    ).content.decode()

    assert 'data-state="near-miss"' in html
    assert "有一项条件未满足" in html
    assert "我们没有您的纳税信用等级的数据——请授权“纳税”类别。" in html
    assert 'data-missing="true"' in html


def test_the_product_page_verdict_is_404_for_a_product_not_listed(client):
    _enterprise, owner = _sme()
    draft = listed_product()
    LoanProduct.objects.filter(pk=draft.pk).update(status=ProductStatus.DRAFT)
    client.force_login(owner)

    response = client.get(f"/portal/enterprise/matches/product/{draft.pk}/")

    assert response.status_code == 404


def test_without_a_score_the_fragments_and_page_say_how_to_get_one(client):
    _enterprise, owner = enterprise_with_owner()
    product = _catalogue(eligible=1)["eligible"][0]
    client.force_login(owner)

    panel = client.get("/portal/enterprise/matches/top/").content.decode()
    verdict = client.get(
        f"/portal/enterprise/matches/product/{product.pk}/"
    ).content.decode()
    page = client.get("/portal/enterprise/matches/").content.decode()

    assert 'data-testid="matches-no-score"' in panel
    assert 'data-testid="verdict-no-score"' in verdict
    assert 'data-testid="matches-no-score"' in page
    assert 'href="/portal/enterprise/score/"' in panel


def test_the_matches_page_ranks_every_eligible_product_and_lists_the_near_misses(
    client,
):
    _enterprise, owner = _sme()
    made = _catalogue(eligible=23, near=2, ineligible=3)
    client.force_login(owner)

    first = client.get("/portal/enterprise/matches/").content.decode()
    second = client.get("/portal/enterprise/matches/?page=2").content.decode()

    assert "您符合条件的产品：23 个" in first
    assert "差一项条件的产品：2 个" in first
    assert first.count('data-kind="match"') == 20
    assert second.count('data-kind="match"') == 3
    assert first.count('data-kind="near-miss"') == 2
    positions = [
        int(chunk.split(">", 1)[1].split("<", 1)[0])
        for chunk in (first + second).split('data-testid="match-position"')[1:]
    ]
    assert positions == list(range(1, 24))
    assert "不符合贷" not in first + second
    assert all(
        f'href="/products/{product.pk}/"' in first + second
        for product in made["eligible"] + made["near"]
    )
    # Past the end: the last page; not a number: the first.
    past = client.get("/portal/enterprise/matches/?page=99").content.decode()
    assert past.count('data-kind="match"') == 3
    assert 'data-testid="match-position" title="在您的匹配结果中的排名">21<' in past
    wrong = client.get("/portal/enterprise/matches/?page=x").content.decode()
    assert wrong.count('data-kind="match"') == 20


def test_the_matches_page_in_english_with_an_amount(client):
    _enterprise, owner = _sme()
    product = listed_product(
        amount_min=Decimal("100000"), amount_max=Decimal("3000000")
    )
    client.force_login(owner)

    html = client.get("/en/portal/enterprise/matches/?amount=500,000").content.decode()

    assert "1 product you qualify for" in html
    assert "CNY 500,000 is within the range CNY 100,000–3,000,000" in html
    assert f'href="/en/products/{product.pk}/"' in html
    assert 'value="500,000"' in html


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("lots", "Enter the amount as a number of yuan, e.g. 500000."),
        ("-5", "Enter an amount greater than zero."),
        ("NaN", "Enter an amount greater than zero."),
        ("99999999999", "Enter an amount of at most CNY 10,000,000,000."),
    ],
)
def test_a_wrong_amount_is_refused_on_its_field_and_the_matches_still_show(
    client, amount, message
):
    _enterprise, owner = _sme()
    listed_product()
    client.force_login(owner)

    response = client.get(f"/en/portal/enterprise/matches/?amount={amount}")

    html = response.content.decode()
    assert response.status_code == 200
    assert (
        f'<div class="invalid-feedback" id="id_amount_error" data-testid="amount-error">{message}</div>'
        in html
    )
    assert 'aria-invalid="true"' in html
    assert 'data-amount="neutral"' in html
    assert html.count('data-kind="match"') == 1


def test_the_matches_page_needs_an_enterprise(client):
    anonymous = client.get("/portal/enterprise/matches/")
    client.force_login(UserFactory())
    stranger = client.get("/portal/enterprise/matches/")

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert stranger.status_code == 404


def test_the_dashboard_and_the_product_page_load_the_fragments(client):
    _enterprise, owner = _sme()
    product = listed_product()

    public = client.get(f"/products/{product.pk}/").content.decode()
    client.force_login(owner)
    dashboard = client.get("/portal/enterprise/").content.decode()
    english = client.get(f"/en/products/{product.pk}/").content.decode()

    assert (
        f'hx-get="/portal/enterprise/matches/product/{product.pk}/" hx-trigger="load"'
        in public
    )
    assert f'hx-get="/en/portal/enterprise/matches/product/{product.pk}/"' in english
    assert 'hx-get="/portal/enterprise/matches/top/" hx-trigger="load"' in dashboard
