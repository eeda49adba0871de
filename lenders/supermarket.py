"""The public product supermarket (贷款产品超市): browse, filter and read listed products.

No login is needed: the catalogue is public so that an SME can compare banks before
registering. Only listed products are reachable, on both pages.

Query count is constant per page whatever the size of the catalogue: one count, one
page of products joined to their bank, one query each for the page's districts and
industries, one for the bank choices of the filter form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.functional import Promise

from core.codes import Category
from lenders.filters import (
    POLICY_LABELS,
    TAG_LABELS,
    ProductFilterSet,
    listed_products,
)
from lenders.models import LoanProduct

PAGE_SIZE = 20


def format_cny(value: Decimal) -> str:
    """``1234567.00`` → ``"1,234,567"``; cents are shown only when there are any.

    Grouping is done here rather than by Django's localisation so that both
    languages show the same digits (the Chinese locale would otherwise group by
    nothing at all, which is hard to read for seven-digit amounts).
    """
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def format_rate(value: Decimal) -> str:
    """An annual rate as a percentage with two decimals: ``3.45%``."""
    return f"{value:.2f}%"


def _span(low: str, high: str) -> str:
    """``low–high``, or just ``low`` when the range is a single value."""
    return low if low == high else f"{low}–{high}"


@dataclass(frozen=True)
class ProductCard:
    """A product with its ranges formatted for display, for the list and the detail.

    ``districts`` / ``industries`` are empty when the product is not restricted
    (city-wide, every industry); the template says so in the page's language.
    """

    product: LoanProduct
    amount_range: str
    term_range: str
    rate_range: str
    tags: list[Promise] = field(default_factory=list)
    policies: list[Promise] = field(default_factory=list)
    districts: list[str | Promise] = field(default_factory=list)
    industries: list[str | Promise] = field(default_factory=list)


def product_card(product: LoanProduct) -> ProductCard:
    """Format ``product``; its districts and industries must be prefetched (the
    ``.all()`` below then reads the prefetch cache instead of querying)."""
    districts = sorted(product.districts.all(), key=lambda row: row.district)
    industries = sorted(product.industries.all(), key=lambda row: row.industry)
    return ProductCard(
        product=product,
        amount_range=_span(
            format_cny(product.amount_min), format_cny(product.amount_max)
        ),
        term_range=_span(str(product.term_min), str(product.term_max)),
        rate_range=_span(format_rate(product.rate_min), format_rate(product.rate_max)),
        tags=[label for name, label in TAG_LABELS.items() if getattr(product, name)],
        policies=[
            label for name, label in POLICY_LABELS.items() if getattr(product, name)
        ],
        districts=[row.get_district_display() for row in districts],
        industries=[row.get_industry_display() for row in industries],
    )


def _with_relations(queryset: QuerySet[LoanProduct]) -> QuerySet[LoanProduct]:
    """The bank in the same query, regions and industries in one query each."""
    return queryset.select_related("lender").prefetch_related("districts", "industries")


def product_list(request: HttpRequest) -> HttpResponse:
    """Filtered, sorted, paginated listed products.

    The filter form is always bound (an empty query string is a valid, empty
    filter), so its errors show and the default sort applies on the first visit too.
    """
    filterset = ProductFilterSet(data=request.GET)
    page = Paginator(_with_relations(filterset.qs), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "lenders/supermarket_list.html",
        {
            "filterset": filterset,
            "form": filterset.form,
            "page": page,
            "cards": [product_card(product) for product in page.object_list],
            "invalid_fields": [field for field in filterset.form if field.errors],
        },
    )


def _category_label(value: str) -> str | Promise:
    """A consent category by its label; a value unknown to this release is shown as
    stored rather than failing the page."""
    try:
        return Category(value).label
    except ValueError:
        return value


def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One listed product with every term and eligibility rule; anything not listed
    is a 404, so a draft's or a delisted product's URL reveals nothing."""
    product = get_object_or_404(_with_relations(listed_products()), pk=pk)
    return render(
        request,
        "lenders/supermarket_detail.html",
        {
            "card": product_card(product),
            "product": product,
            "required_categories": [
                _category_label(value) for value in product.required_categories or []
            ],
        },
    )
