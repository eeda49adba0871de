"""The public product supermarket: filters, sorting, paging, languages, bad input.

The filter rules are checked twice, independently: the FilterSet builds SQL, the
property test below re-states every rule as a plain Python predicate over the same
random catalogue, and the two must agree on which products match and in what order.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Organization
from core.codes import DISTRICTS, INDUSTRIES
from lenders.filters import ProductFilterSet
from lenders.models import (
    GuaranteeType,
    Lender,
    LoanProduct,
    LoanProductDistrict,
    LoanProductIndustry,
    ProductStatus,
    ProductType,
)
from tests.factories.lenders import LenderFactory, LoanProductFactory, listed_product

TAGS = ("pure_credit", "fully_online", "fast_approval")
POLICIES = ("interest_subsidy", "risk_compensation", "government_guarantee")
FLAGS = TAGS + POLICIES
SORTS = ("rate", "amount", "response", "newest")

# Small pools, so that random products and filters often meet (and often tie).
DISTRICT_POOL = ("440303", "440304", "440305", "440306")
UNUSED_DISTRICT = "440312"  # on no product: only unrestricted products match it
INDUSTRY_POOL = ("C", "F", "I", "M")
UNUSED_INDUSTRY = "P"
BASE_TIME = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
LISTED_TIMES = tuple(BASE_TIME + dt.timedelta(days=n) for n in range(4))
HIDDEN_STATUSES = (
    ProductStatus.DRAFT,
    ProductStatus.PENDING_REVIEW,
    ProductStatus.DELISTED,
)


# --- helpers --------------------------------------------------------------------------


def shown(response) -> list[int]:
    """The pks of the product cards on a list page, in page order (from the HTML,
    so the test also proves the cards carry ``data-testid="product-card"``)."""
    return [
        int(pk)
        for pk in re.findall(
            r'data-testid="product-card" data-product="(\d+)"',
            response.content.decode(),
        )
    ]


def result_count(response) -> int:
    match = re.search(
        r'data-testid="result-count" data-count="(\d+)"', response.content.decode()
    )
    assert match, "the page has no result count"
    return int(match.group(1))


def bulk_products(lender: Lender, count: int, **fields: Any) -> list[LoanProduct]:
    """``count`` listed products in one INSERT (the factory would take one each)."""
    defaults = {
        "product_type": ProductType.CREDIT,
        "guarantee_type": GuaranteeType.NONE,
        "amount_min": Decimal("100000"),
        "amount_max": Decimal("3000000"),
        "term_min": 6,
        "term_max": 36,
        "rate_min": Decimal("3.45"),
        "rate_max": Decimal("6.50"),
        "repayment_method": "equal_instalment",
        "response_days": 5,
        "status": ProductStatus.LISTED,
    }
    defaults.update(fields)
    start = LoanProduct.objects.count()
    return LoanProduct.objects.bulk_create(
        LoanProduct(
            lender=lender,
            code=f"bulk-{start + n}",
            name=f"批量产品{start + n}",
            **defaults,
        )
        for n in range(count)
    )


# --- the property test: FilterSet == plain Python -------------------------------------


@st.composite
def product_specs(draw: st.DrawFn, statuses: Iterable[str]) -> dict[str, Any]:
    """One random product, as plain data (amounts on a 10,000 grid, rates on a
    0.25 grid, few response times and listing dates: boundaries and ties are common)."""
    amount_min = draw(st.integers(1, 300)) * 10_000
    term_min = draw(st.integers(1, 36))
    rate_min = draw(st.integers(6, 48)) * 25  # hundredths of a percent
    return {
        "status": draw(st.sampled_from(list(statuses))),
        "lender_index": draw(st.integers(0, 3)),
        "product_type": draw(st.sampled_from(ProductType.values)),
        "guarantee_type": draw(st.sampled_from(GuaranteeType.values)),
        "amount_min": Decimal(amount_min),
        "amount_max": Decimal(amount_min + draw(st.integers(0, 300)) * 10_000),
        "term_min": term_min,
        "term_max": term_min + draw(st.integers(0, 48)),
        "rate_min": Decimal(rate_min) / 100,
        "rate_max": Decimal(rate_min + draw(st.integers(0, 24)) * 25) / 100,
        "response_days": draw(st.integers(1, 5)),
        "listed_at": draw(st.none() | st.sampled_from(LISTED_TIMES)),
        "regions": draw(st.sets(st.sampled_from(DISTRICT_POOL), max_size=3)),
        "industries": draw(st.sets(st.sampled_from(INDUSTRY_POOL), max_size=3)),
        **{flag: draw(st.booleans()) for flag in FLAGS},
    }


FILTERS = (
    "product_type",
    "guarantee_type",
    "amount",
    "term",
    "max_rate",
    "district",
    "industry",
    "lender",
    *FLAGS,
)


def filter_values(
    lender_pks: list[int], specs: list[dict[str, Any]]
) -> dict[str, st.SearchStrategy[list[str]]]:
    """For each filter, its values in a query string (sometimes a bad one).

    Amounts, terms and rates are as often taken from the products' own bounds as
    drawn at large, so that the inclusive comparisons (≤, not <) are really tested.
    """

    def one(
        good: st.SearchStrategy[str], bad: str | None = None
    ) -> st.SearchStrategy[list[str]]:
        """A single value: ``good`` seven times in eight, else ``bad`` (if any)."""
        values = good
        if bad is not None:
            values = st.integers(0, 7).flatmap(
                lambda k: st.just(bad) if k == 0 else good
            )
        return values.map(lambda value: [value])

    def bounds(*names: str) -> st.SearchStrategy[str]:
        return st.sampled_from(sorted({str(spec[n]) for spec in specs for n in names}))

    return {
        "product_type": st.lists(
            st.sampled_from(ProductType.values), min_size=1, max_size=5, unique=True
        ),
        "guarantee_type": st.lists(
            st.sampled_from(GuaranteeType.values), min_size=1, max_size=3, unique=True
        ),
        "amount": one(
            st.integers(1, 700).map(lambda n: str(n * 10_000))
            | bounds("amount_min", "amount_max"),
            "abc",
        ),
        "term": one(
            st.integers(1, 90).map(str) | bounds("term_min", "term_max"), "1.5"
        ),
        "max_rate": one(
            st.integers(100, 1300).map(lambda n: str(Decimal(n) / 100))
            | bounds("rate_min"),
            "x",
        ),
        "district": one(st.sampled_from([*DISTRICT_POOL, UNUSED_DISTRICT]), "999999"),
        "industry": one(st.sampled_from([*INDUSTRY_POOL, UNUSED_INDUSTRY]), "Z"),
        "lender": one(st.sampled_from([str(pk) for pk in lender_pks]), "987654321"),
        **{flag: st.just(["on"]) for flag in FLAGS},
    }


@st.composite
def filter_params(
    draw: st.DrawFn, lender_pks: list[int], specs: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """A random query string: up to three filters (more would nearly always match
    nothing and prove little) and usually a sort."""
    values = filter_values(lender_pks, specs)
    names = draw(st.sets(st.sampled_from(FILTERS), max_size=3))
    params = {name: draw(values[name]) for name in sorted(names)}
    sort = draw(st.sampled_from([None, *SORTS, "evil"]))
    if sort is not None:
        params["sort"] = [sort]
    return params


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def expected_result(
    products: list[dict[str, Any]],
    params: dict[str, list[str]],
    active_lender_pks: set[int],
) -> tuple[list[int], set[str]]:
    """What the supermarket must answer, by plain Python: the ordered pks and the
    names of the fields whose value is invalid (and therefore ignored)."""
    listed = [p for p in products if p["status"] == ProductStatus.LISTED]
    invalid: set[str] = set()

    def one(name: str) -> str | None:
        return params[name][0] if name in params else None

    amount = _decimal(one("amount")) if one("amount") is not None else None
    if one("amount") is not None and amount is None:
        invalid.add("amount")
    term_text = one("term")
    term = int(term_text) if term_text is not None and term_text.isdigit() else None
    if term_text is not None and term is None:
        invalid.add("term")
    max_rate = _decimal(one("max_rate")) if one("max_rate") is not None else None
    if one("max_rate") is not None and max_rate is None:
        invalid.add("max_rate")
    district = one("district")
    if district is not None and district not in DISTRICTS:
        invalid.add("district")
        district = None
    industry = one("industry")
    if industry is not None and industry not in INDUSTRIES:
        invalid.add("industry")
        industry = None
    lender = int(one("lender")) if one("lender") is not None else None
    choosable = {p["lender_pk"] for p in listed} & active_lender_pks
    if lender is not None and lender not in choosable:
        invalid.add("lender")
        lender = None
    sort = one("sort")
    if sort is not None and sort not in SORTS:
        invalid.add("sort")
    sort = sort if sort in SORTS else "rate"

    def matches(p: dict[str, Any]) -> bool:
        if "product_type" in params and p["product_type"] not in params["product_type"]:
            return False
        if (
            "guarantee_type" in params
            and p["guarantee_type"] not in params["guarantee_type"]
        ):
            return False
        if amount is not None and not p["amount_min"] <= amount <= p["amount_max"]:
            return False
        if term is not None and not p["term_min"] <= term <= p["term_max"]:
            return False
        if max_rate is not None and p["rate_min"] > max_rate:
            return False
        if district is not None and p["regions"] and district not in p["regions"]:
            return False
        if industry is not None and p["industries"] and industry not in p["industries"]:
            return False
        if any(flag in params and not p[flag] for flag in FLAGS):
            return False
        return lender is None or p["lender_pk"] == lender

    def key(p: dict[str, Any]) -> tuple:
        if sort == "amount":
            return (-p["amount_max"], p["pk"])
        if sort == "response":
            return (p["response_days"], p["pk"])
        if sort == "newest":
            listed_at = p["listed_at"]
            stamp = -listed_at.timestamp() if listed_at else 0.0
            return (listed_at is None, stamp, -p["pk"])
        return (p["rate_min"], p["pk"])

    return [p["pk"] for p in sorted(filter(matches, listed), key=key)], invalid


@pytest.mark.django_db
def test_filterset_agrees_with_a_plain_python_filter():
    # Lenders are shared by every example; products live in a savepoint that each
    # example rolls back, so examples never see one another's catalogue.
    lenders = [
        LenderFactory(),
        LenderFactory(),
        LenderFactory(),
        LenderFactory(is_active=False),
    ]
    lender_pks = [lender.pk for lender in lenders]
    active_lender_pks = {lender.pk for lender in lenders if lender.is_active}

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        specs = data.draw(
            st.lists(product_specs([ProductStatus.LISTED]), min_size=25, max_size=30)
        ) + data.draw(st.lists(product_specs(HIDDEN_STATUSES), min_size=2, max_size=4))
        # One random combination, and every filter alone: each rule is exercised in
        # every example, whatever the combination happened to be.
        combination = data.draw(filter_params(lender_pks, specs))
        values = filter_values(lender_pks, specs)
        singles = [{name: data.draw(values[name])} for name in FILTERS]
        with transaction.atomic():
            try:
                products = LoanProduct.objects.bulk_create(
                    LoanProduct(
                        lender_id=lender_pks[spec["lender_index"]],
                        code=f"p{n}",
                        name=f"产品{n}",
                        repayment_method="equal_instalment",
                        **{
                            k: v
                            for k, v in spec.items()
                            if k not in {"lender_index", "regions", "industries"}
                        },
                    )
                    for n, spec in enumerate(specs)
                )
                LoanProductDistrict.objects.bulk_create(
                    LoanProductDistrict(product=product, district=code)
                    for product, spec in zip(products, specs, strict=True)
                    for code in spec["regions"]
                )
                LoanProductIndustry.objects.bulk_create(
                    LoanProductIndustry(product=product, industry=code)
                    for product, spec in zip(products, specs, strict=True)
                    for code in spec["industries"]
                )
                plain = [
                    {**spec, "pk": product.pk, "lender_pk": product.lender_id}
                    for product, spec in zip(products, specs, strict=True)
                ]
                for params in [combination, *singles]:
                    query = QueryDict(mutable=True)
                    for name, param_values in params.items():
                        query.setlist(name, param_values)

                    filterset = ProductFilterSet(data=query)
                    got = list(filterset.qs.values_list("pk", flat=True))
                    expected, invalid = expected_result(
                        plain, params, active_lender_pks
                    )

                    assert set(filterset.form.errors) == invalid, params
                    assert got == expected, params
            finally:
                transaction.set_rollback(True)

    check()


def test_bank_filter_offers_only_active_banks_with_listed_products(db):
    listed_product(lender=LenderFactory(short_name="上架银行"))
    LoanProductFactory(lender=LenderFactory(short_name="草稿银行"))  # a draft only
    listed_product(lender=LenderFactory(short_name="停用银行", is_active=False))

    field = ProductFilterSet(data={}).form.fields["lender"]
    assert [label for value, label in field.choices if value] == ["上架银行"]


# --- only listed products are public --------------------------------------------------


@pytest.mark.parametrize("status", HIDDEN_STATUSES)
def test_unlisted_products_are_neither_listed_nor_reachable(client, db, status):
    visible = listed_product()
    hidden = LoanProductFactory(status=status)

    response = client.get("/products/")
    assert response.status_code == 200
    assert shown(response) == [visible.pk]
    assert result_count(response) == 1
    assert client.get(f"/products/{hidden.pk}/").status_code == 404
    assert client.get(f"/en/products/{hidden.pk}/").status_code == 404
    assert client.get(f"/products/{visible.pk}/").status_code == 200


def test_unknown_product_is_a_404(client, db):
    assert client.get("/products/999999/").status_code == 404


def test_no_login_is_needed(client, db):
    product = listed_product()
    assert client.get("/products/").status_code == 200
    assert client.get(f"/products/{product.pk}/").status_code == 200


# --- queries do not grow with the catalogue -------------------------------------------


def _count_queries(client, url: str, *, clear: bool = True) -> int:
    """Queries of a page rendered in full: the card and filter-form fragments are
    cached, so the cache is emptied first (a cached page queries less)."""
    if clear:
        cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "query", ["", "?district=440304&industry=C&pure_credit=on&sort=newest"]
)
def test_list_page_queries_are_the_same_for_1_and_500_products(client, db, query):
    lender = LenderFactory()
    listed_product(
        lender=lender, regions=["440304"], industries=["C"], pure_credit=True
    )
    one = _count_queries(client, f"/products/{query}")

    others = bulk_products(lender, 499, pure_credit=True)
    LoanProductDistrict.objects.bulk_create(
        LoanProductDistrict(product=product, district=district)
        for product in others[::2]
        for district in ("440304", "440305")
    )
    LoanProductIndustry.objects.bulk_create(
        LoanProductIndustry(product=product, industry="C") for product in others[::3]
    )
    url = f"/products/{query}"
    many = _count_queries(client, url)

    assert result_count(client.get(url)) == 500
    assert len(shown(client.get(url))) == 20
    assert many == one
    # count, one page with its bank, its districts, its industries, the banks (the
    # filter form's cache key) and, the form not being cached yet, the bank choices
    assert one <= 6
    assert _count_queries(client, url, clear=False) == one - 1  # the form cached


def test_detail_page_query_count_is_bounded(client, db):
    product = listed_product(regions=["440304", "440305"], industries=["C", "I"])
    assert _count_queries(client, f"/products/{product.pk}/") <= 3


# --- sorting and paging ---------------------------------------------------------------


@pytest.fixture
def four_products(db) -> dict[str, LoanProduct]:
    """Four products whose order differs for every sort, plus a tie on each key."""
    lender = LenderFactory()
    make = LoanProductFactory
    return {
        "a": make(
            lender=lender,
            status="listed",
            rate_min=Decimal("3.10"),
            amount_max=Decimal("5000000"),
            response_days=7,
            listed_at=LISTED_TIMES[0],
        ),
        "b": make(
            lender=lender,
            status="listed",
            rate_min=Decimal("2.90"),
            amount_max=Decimal("1000000"),
            response_days=3,
            listed_at=LISTED_TIMES[2],
        ),
        "c": make(
            lender=lender,
            status="listed",
            rate_min=Decimal("4.50"),
            amount_max=Decimal("9000000"),
            response_days=1,
            listed_at=LISTED_TIMES[1],
        ),
        # ties with "a" on rate and amount, with "b" on response, with "b" on date
        "d": make(
            lender=lender,
            status="listed",
            rate_min=Decimal("3.10"),
            amount_max=Decimal("5000000"),
            response_days=3,
            listed_at=LISTED_TIMES[2],
        ),
    }


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("", "badc"),  # the default is the lowest rate
        ("rate", "badc"),
        ("amount", "cadb"),
        ("response", "cbda"),
        ("newest", "dbca"),  # same date: the later pk (the newer row) first
    ],
)
def test_sorting(client, four_products, sort, order):
    response = client.get(f"/products/?sort={sort}")
    assert shown(response) == [four_products[name].pk for name in order]


def test_newest_puts_products_without_a_listing_date_last(client, four_products):
    undated = listed_product(listed_at=None)
    assert shown(client.get("/products/?sort=newest"))[-1] == undated.pk


def test_pagination_keeps_the_filters(client, db):
    lender = LenderFactory()
    credit = bulk_products(lender, 25, product_type=ProductType.CREDIT)
    bulk_products(lender, 5, product_type=ProductType.MORTGAGE)

    first = client.get("/en/products/?product_type=credit&sort=amount&pure_credit=")
    assert result_count(first) == 25
    assert len(shown(first)) == 20
    next_href = html.unescape(
        re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1)
    )
    next_query = QueryDict(next_href.lstrip("?"))
    assert next_query.getlist("product_type") == ["credit"]
    assert next_query["sort"] == "amount"
    assert next_query["page"] == "2"

    second = client.get(f"/en/products/{next_href}")
    assert len(shown(second)) == 5
    assert shown(first) + shown(second) == [product.pk for product in credit]
    previous_href = html.unescape(
        re.search(r'rel="prev" href="([^"]+)"', second.content.decode()).group(1)
    )
    assert QueryDict(previous_href.lstrip("?")).getlist("product_type") == ["credit"]


@pytest.mark.parametrize("page", ["abc", "0", "999"])
def test_a_bad_page_number_still_shows_a_page(client, db, page):
    listed_product()
    response = client.get(f"/products/?page={page}")
    assert response.status_code == 200
    assert len(shown(response)) == 1


# --- languages and display ------------------------------------------------------------


@pytest.fixture
def shown_product(db) -> LoanProduct:
    return listed_product(
        lender=LenderFactory(short_name="示范银行", name="示范银行股份有限公司"),
        name="科创贷",
        regions=["440304"],
        industries=["C"],
        pure_credit=True,
        interest_subsidy=True,
    )


def test_list_renders_in_chinese_by_default(client, shown_product):
    response = client.get("/products/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-Hans">' in page
    assert "筛选" in page  # the filter button
    assert "福田区" in page  # the district choice and the card's region
    assert "制造业" in page  # the industry choice
    assert "银行机构" in page  # the bank filter
    assert "示范银行" in page and "科创贷" in page
    assert "3.45%–6.50%" in page
    assert "100,000–3,000,000" in page


def test_list_renders_in_english_under_en(client, shown_product):
    response = client.get("/en/products/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in page
    assert "Loan product supermarket" in page
    assert "Futian" in page and "Manufacturing" in page
    assert "CNY 100,000–3,000,000" in page
    assert "6–36 months" in page
    assert "3.45%–6.50%" in page
    assert "Within 5 working days" in page
    assert "Pure credit" in page and "Interest subsidy" in page
    assert "Fully online" in page  # as a filter, not as a badge of this product
    assert page.count('class="badge') == 2


def test_empty_state(client, db):
    listed_product(product_type=ProductType.CREDIT)
    response = client.get("/en/products/?product_type=mortgage")
    assert response.status_code == 200
    assert shown(response) == []
    assert result_count(response) == 0
    assert "No product matches" in response.content.decode()


def test_detail_shows_every_term_and_eligibility_rule(client, db):
    product = listed_product(
        regions=["440305", "440304"],
        industries=["I", "C"],
        min_grade="B",
        min_years_in_business=Decimal("2.5"),
        min_tax_credit_grade="A",
        excludes_dishonest_debtors=True,
        excludes_unrepaired_serious_penalty=False,
        required_categories=["tax", "social_insurance"],
        fast_approval=True,
        government_guarantee=True,
        description="面向科技型中小企业。",
    )
    page = client.get(f"/en/products/{product.pk}/").content.decode()
    assert product.name in page and product.lender.name in page
    assert "CNY 100,000–3,000,000" in page and "3.45%–6.50%" in page
    assert "Futian · Nanshan" in page
    assert "Manufacturing · Information transmission, software and IT services" in page
    assert "At least 2.5 years" in page
    assert "Tax · Social insurance" in page
    assert "Fast approval" in page and "Government guarantee" in page
    assert "面向科技型中小企业。" in page
    eligibility = re.search(r'data-testid="eligibility">(.*?)</dl>', page, re.S).group(
        1
    )
    assert '<dd class="col-sm-6">B</dd>' in eligibility
    assert '<dd class="col-sm-6">A</dd>' in eligibility
    assert "Not eligible" in eligibility and "Not excluded" in eligibility


def test_detail_of_an_unrestricted_product(client, db):
    product = listed_product()
    english = client.get(f"/en/products/{product.pk}/").content.decode()
    assert "City-wide" in english and "All industries" in english
    chinese = client.get(f"/products/{product.pk}/")
    assert chinese.status_code == 200
    assert '<html lang="zh-Hans">' in chinese.content.decode()


# --- bad input ------------------------------------------------------------------------


@pytest.fixture
def two_products(db) -> tuple[LoanProduct, LoanProduct]:
    """Disjoint on every filter the bad-input tests use."""
    cheap = listed_product(
        amount_min=Decimal("100000"),
        amount_max=Decimal("1000000"),
        rate_min=Decimal("3.00"),
        regions=["440304"],
    )
    big = listed_product(
        amount_min=Decimal("5000000"),
        amount_max=Decimal("9000000"),
        rate_min=Decimal("4.00"),
        product_type=ProductType.MORTGAGE,
    )
    return cheap, big


@pytest.mark.parametrize(
    ("query", "field", "label", "message"),
    [
        ("amount=abc", "amount", "Amount needed (CNY)", "Enter a number."),
        ("district=999999", "district", "District", "Select a valid choice."),
        ("sort=evil", "sort", "Sort by", "Select a valid choice."),
        ("term=1.5", "term", "Term (months)", "Enter a whole number."),
        ("lender=abc", "lender", "Lender", "Select a valid choice."),
    ],
)
def test_bad_input_shows_the_field_error_and_is_not_applied(
    client, two_products, query, field, label, message
):
    cheap, big = two_products
    response = client.get(f"/en/products/?{query}")
    page = response.content.decode()
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert 'data-testid="filter-errors"' in page
    assert f"<strong>{label}</strong>: {message}" in page
    assert f'data-field="{field}"' in page  # also under the field itself
    assert shown(response) == [cheap.pk, big.pk]  # unfiltered, default sort


def test_bad_input_does_not_cancel_the_good_filters(client, two_products):
    _cheap, big = two_products
    response = client.get("/products/?amount=abc&district=999999&product_type=mortgage")
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"amount", "district"}
    assert shown(response) == [big.pk]


def test_bad_input_is_escaped(client, two_products):
    page = client.get(
        "/en/products/?district=<script>alert(1)</script>"
    ).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_bad_input_in_chinese(client, two_products):
    response = client.get("/products/?amount=abc")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in page
    assert "输入一个数字。" in page  # Django's own catalogue


def test_a_cached_card_changes_with_its_product_bank_and_language(client, db):
    """The list's cards and filter form are cached fragments; each key holds what
    the fragment shows, so an edit shows at once and each language has its own."""
    product = listed_product(code="cached-card", name="缓存测试贷")
    assert "缓存测试贷" in client.get("/products/").content.decode()

    LoanProduct.objects.filter(pk=product.pk).update(
        name="改名后的贷款", updated_at=timezone.now()
    )
    html = client.get("/products/").content.decode()
    assert "改名后的贷款" in html and "缓存测试贷" not in html

    LoanProductDistrict.objects.create(product=product, district="440305")
    assert "南山区" in client.get("/products/").content.decode()
    assert "Nanshan" in client.get("/en/products/").content.decode()

    organization = product.lender.organization
    Organization.objects.filter(pk=organization.pk).update(
        name_en="Cache Test Bank", updated_at=timezone.now()
    )
    assert "Cache Test Bank" in client.get("/en/products/").content.decode()


def test_a_cached_filter_form_keeps_each_querys_values_and_errors(client, db):
    listed_product(code="filter-cache")
    bad = client.get("/products/?term=abc").content.decode()
    good = client.get("/products/?term=12").content.decode()
    assert 'data-field="term"' in bad and 'data-field="term"' not in good
    assert 'name="term" value="12"' in good


def test_the_list_renders_whole_when_the_cache_is_down(client, db, monkeypatch):
    listed_product(code="no-cache", name="无缓存贷")

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "set_many", down)
    response = client.get("/products/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "无缓存贷" in html and 'data-testid="product-filters"' in html
