"""The public product supermarket (贷款产品超市): browse, filter and read listed products,
and how a product's terms are put into words wherever they are shown.

No login is needed: the catalogue is public so that an SME can compare banks before
registering. Only listed products are reachable, on both pages. Names are shown in
the page's language (``LoanProduct.display_name``, ``Lender.display_short_name``):
the English one on /en/ when the bank gave one, the Chinese otherwise.

The operator's review card and the bank's "change pending" notice use the same words
(``term_rows``, ``term_changes``): every term as a translated label and value, never
a stored code.

Query count is constant per page whatever the size of the catalogue: one count, one
page of products joined to their bank, one query each for the page's districts and
industries, one for the bank choices of the filter form.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

from core.codes import DISTRICTS, INDUSTRIES, Category
from core.labels import label as choice_label
from lenders import lifecycle
from lenders.filters import (
    POLICY_LABELS,
    TAG_LABELS,
    ProductFilterSet,
    lenders_with_listed_products,
    listed_products,
)
from lenders.models import (
    GuaranteeType,
    LoanProduct,
    LoanProductDistrict,
    LoanProductIndustry,
    LoanProductRevision,
    ProductType,
    RepaymentMethod,
)

PAGE_SIZE = 20
logger = logging.getLogger(__name__)


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
    """A product with its ranges and labels formatted for display, for the list and
    the detail.

    ``districts`` / ``industries`` are empty when the product is not restricted
    (city-wide, every industry); the template says so in the page's language.
    """

    product: LoanProduct
    product_type: str
    amount_range: str
    term_range: str
    rate_range: str
    tags: list[Promise] = field(default_factory=list)
    policies: list[Promise] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)
    industries: list[str] = field(default_factory=list)


def product_card(
    product: LoanProduct,
    *,
    districts: list[str] | None = None,
    industries: list[str] | None = None,
) -> ProductCard:
    """Format ``product``. Its district and industry codes are given (the list reads
    them for a whole page at once, ``_restrictions``) or read from its prefetched
    rows (the detail). Labels come from ``core.labels``: translated once per
    language, not once per call as ``get_<field>_display()`` does."""
    if districts is None:
        districts = [row.district for row in product.districts.all()]
    if industries is None:
        industries = [row.industry for row in product.industries.all()]
    return ProductCard(
        product=product,
        product_type=choice_label(ProductType, product.product_type),
        amount_range=_span(
            format_cny(product.amount_min), format_cny(product.amount_max)
        ),
        term_range=_span(str(product.term_min), str(product.term_max)),
        rate_range=_span(format_rate(product.rate_min), format_rate(product.rate_max)),
        tags=[label for name, label in TAG_LABELS.items() if getattr(product, name)],
        policies=[
            label for name, label in POLICY_LABELS.items() if getattr(product, name)
        ],
        districts=[choice_label(DISTRICTS, code) for code in sorted(districts)],
        industries=[choice_label(INDUSTRIES, code) for code in sorted(industries)],
    )


def _with_relations(queryset: QuerySet[LoanProduct]) -> QuerySet[LoanProduct]:
    """The bank (and its organization, for its English name) in the same query,
    regions and industries in one query each."""
    return queryset.select_related("lender__organization").prefetch_related(
        "districts", "industries"
    )


def _restrictions(
    products: list[LoanProduct],
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """The district and industry codes of a page of products: two small queries of
    (product, code) pairs, where a prefetch would build a model instance per row."""
    pks = [product.pk for product in products]
    districts: dict[int, list[str]] = {pk: [] for pk in pks}
    industries: dict[int, list[str]] = {pk: [] for pk in pks}
    for pk, code in LoanProductDistrict.objects.filter(product__in=pks).values_list(
        "product_id", "district"
    ):
        districts[pk].append(code)
    for pk, code in LoanProductIndustry.objects.filter(product__in=pks).values_list(
        "product_id", "industry"
    ):
        industries[pk].append(code)
    return districts, industries


#: What a card shows or is keyed on; the list reads only these columns.
CARD_FIELDS = (
    "name",
    "name_en",
    "product_type",
    "amount_min",
    "amount_max",
    "term_min",
    "term_max",
    "rate_min",
    "rate_max",
    "response_days",
    *TAG_LABELS,
    *POLICY_LABELS,
    "updated_at",
    "lender__name",
    "lender__short_name",
    "lender__updated_at",
    "lender__organization__name_en",
    "lender__organization__updated_at",
)


def _cache_get_many(keys: list[str]) -> dict[str, Any]:
    """Cached fragments; none when the cache cannot be reached (the page is then
    rendered in full, slower but whole)."""
    try:
        return cache.get_many(keys)
    except Exception:  # any cache client error: render instead
        logger.warning("cache unreachable: the product page is rendered in full")
        return {}


def _cache_set_many(values: dict[str, Any], *, timeout: int) -> None:
    try:
        cache.set_many(values, timeout=timeout)
    except Exception:  # any cache client error: the next request renders again
        logger.warning("cache unreachable: rendered fragments not stored")


#: How long a rendered product card is kept; its key changes with the product, the
#: bank and the language, so this only bounds the memory of cards no longer shown.
CARD_CACHE_SECONDS = 60 * 60


def _card_key(product: LoanProduct, districts: list[str], industries: list[str]) -> str:
    """A card's cache key: everything the card shows — the product row, its
    districts and industries, the bank and its organization (the names) — and the
    page's language. A change to any of them is a new key, never a stale card."""
    lender = product.lender
    stamps = "-".join(
        f"{moment.timestamp():.6f}"
        for moment in (
            product.updated_at,
            lender.updated_at,
            lender.organization.updated_at,
        )
    )
    places = ",".join(sorted(districts)) + "/" + ",".join(sorted(industries))
    return f"lenders:card:{get_language()}:{product.pk}:{stamps}:{places}"


def _card_fragments(products: list[LoanProduct]) -> list[SafeString]:
    """The page's product cards as HTML: those rendered before come from the cache
    in one round trip; the others are rendered and stored. The districts and
    industries of the page are read in two queries (part of each card's key)."""
    districts, industries = _restrictions(products)
    keys = {
        product.pk: _card_key(product, districts[product.pk], industries[product.pk])
        for product in products
    }
    cached = _cache_get_many(list(keys.values()))
    rendered = {
        keys[product.pk]: render_to_string(
            "lenders/_product_card.html",
            {
                "card": product_card(
                    product,
                    districts=districts[product.pk],
                    industries=industries[product.pk],
                )
            },
        )
        for product in products
        if keys[product.pk] not in cached
    }
    if rendered:
        _cache_set_many(rendered, timeout=CARD_CACHE_SECONDS)
        cached.update(rendered)
    # The fragments are the card template's own output.
    return [mark_safe(cached[keys[product.pk]]) for product in products]  # noqa: S308


#: How long a rendered filter form is kept (its key changes with what it shows).
FILTERS_CACHE_SECONDS = 10 * 60


def _filters_html(request: HttpRequest, filterset: ProductFilterSet) -> SafeString:
    """The filter form as HTML, cached: it was the most expensive part of the page
    (thirty-odd inputs and options, the banks' list read again to render it). It
    depends only on the query string (values and errors), the language and the banks
    that have listed products, which are all in the key."""
    fields = filterset.form.fields
    query = sorted(
        (name, value) for name in fields for value in request.GET.getlist(name)
    )
    banks = list(
        lenders_with_listed_products().values_list(
            "pk", "updated_at", "organization__updated_at"
        )
    )
    digest = hashlib.sha256(repr((query, banks)).encode()).hexdigest()
    key = f"lenders:filters:{get_language()}:{digest}"
    html = _cache_get_many([key]).get(key)
    if html is None:
        html = render_to_string(
            "lenders/_product_filters.html", {"form": filterset.form}, request=request
        )
        _cache_set_many({key: html}, timeout=FILTERS_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 — the filter template's own output


def product_list(request: HttpRequest) -> HttpResponse:
    """Filtered, sorted, paginated listed products.

    The filter form is always bound (an empty query string is a valid, empty
    filter), so its errors show and the default sort applies on the first visit too.
    """
    filterset = ProductFilterSet(data=request.GET)
    page = Paginator(
        filterset.qs.select_related("lender__organization").only(*CARD_FIELDS),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "lenders/supermarket_list.html",
        {
            "filterset": filterset,
            "form": filterset.form,
            "filters_html": _filters_html(request, filterset),
            "page": page,
            "cards": _card_fragments(list(page.object_list)),
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


# --- a product's terms in words -------------------------------------------------------


@dataclass(frozen=True)
class TermRow:
    """One line of a product's terms: a translated label and its value in words."""

    label: str | Promise
    value: str | Promise


@dataclass(frozen=True)
class TermChange:
    """One reviewed field a revision changes: ``old`` (listed) → ``new`` (proposed)."""

    name: str
    label: str | Promise
    old: str | Promise
    new: str | Promise


def _label_of(choices: type, value: str) -> str | Promise:
    """A choice's label; a value unknown to this release is shown as stored."""
    try:
        return choices(value).label
    except ValueError:
        return value


def _joined(labels: list, empty: str | Promise) -> str | Promise:
    return " · ".join(str(label) for label in labels) if labels else empty


def _months(value: Any) -> str:
    return _("%(term)s months") % {"term": value}


def _response(value: Any) -> str:
    days = int(value)
    return ngettext(
        "Within %(days)s working day", "Within %(days)s working days", days
    ) % {"days": days}


def _years(value: Any) -> str | Promise:
    years = Decimal(str(value))
    if not years:
        return _("No minimum")
    return _("At least %(years)s years") % {"years": floatformat(years, -1)}


def _yes_no(value: Any) -> str | Promise:
    return _("Yes") if value else _("No")


def _excluded(value: Any) -> str | Promise:
    return _("Not eligible") if value else _("Not excluded")


def _field_label(name: str) -> str | Promise:
    field = LoanProduct._meta.get_field(name)
    assert isinstance(field, models.Field)
    return capfirst(field.verbose_name)


#: How each reviewed term is put into words: its label and a formatter of its JSON
#: value (as ``LoanProduct.terms()`` stores it). Tags and flags use the public
#: pages' labels, not the mixed-language verbose names.
TERM_FORMATS: dict[str, tuple[Any, Any]] = {
    "name": (_field_label("name"), str),
    "product_type": (_("Product type"), lambda v: _label_of(ProductType, v)),
    "guarantee_type": (_("Guarantee type"), lambda v: _label_of(GuaranteeType, v)),
    "amount_min": (_field_label("amount_min"), lambda v: format_cny(Decimal(v))),
    "amount_max": (_field_label("amount_max"), lambda v: format_cny(Decimal(v))),
    "term_min": (_field_label("term_min"), _months),
    "term_max": (_field_label("term_max"), _months),
    "rate_min": (_field_label("rate_min"), lambda v: format_rate(Decimal(v))),
    "rate_max": (_field_label("rate_max"), lambda v: format_rate(Decimal(v))),
    "repayment_method": (_("Repayment"), lambda v: _label_of(RepaymentMethod, v)),
    "regions": (
        _("Districts"),
        lambda v: _joined([DISTRICTS.get(c, c) for c in v], _("City-wide")),
    ),
    "industries": (
        _("Industries"),
        lambda v: _joined([INDUSTRIES.get(c, c) for c in v], _("All industries")),
    ),
    "min_grade": (_("Minimum credit grade"), lambda v: v or _("No minimum")),
    "min_years_in_business": (_("Years in business"), _years),
    "min_tax_credit_grade": (
        _("Minimum tax credit grade"),
        lambda v: v or _("No minimum"),
    ),
    "excludes_dishonest_debtors": (_("Dishonest judgement debtors"), _excluded),
    "excludes_unrepaired_serious_penalty": (
        _("Unrepaired serious administrative penalty"),
        _excluded,
    ),
    "required_categories": (
        _("Data the applicant must authorize"),
        lambda v: _joined([_category_label(c) for c in v], _("None")),
    ),
    **{name: (label, _yes_no) for name, label in TAG_LABELS.items()},
    **{name: (label, _yes_no) for name, label in POLICY_LABELS.items()},
    "response_days": (_field_label("response_days"), _response),
    "description": (_field_label("description"), str),
    "name_en": (_field_label("name_en"), str),
    "description_en": (_field_label("description_en"), str),
}


def _term(terms: dict[str, Any], name: str) -> str | Promise:
    return TERM_FORMATS[name][1](terms[name])


def product_terms(product: LoanProduct) -> dict[str, Any]:
    """``product.terms()`` from its prefetched districts and industries (no query)."""
    return product.terms(
        regions=[row.district for row in product.districts.all()],
        industries=[row.industry for row in product.industries.all()],
    )


def term_rows(terms: dict[str, Any]) -> list[TermRow]:
    """Every term of a product (a ``terms()`` snapshot) in reading order: what it
    lends, to whom, on which rules, with which support, how fast; then its texts."""

    def span(low: str, high: str) -> str:
        return _span(str(_term(terms, low)), str(_term(terms, high)))

    tags = [label for name, label in TAG_LABELS.items() if terms.get(name)]
    policies = [label for name, label in POLICY_LABELS.items() if terms.get(name)]
    rows = [
        TermRow(_("Product type"), _term(terms, "product_type")),
        TermRow(_("Guarantee type"), _term(terms, "guarantee_type")),
        TermRow(
            _("Amount"),
            _("CNY %(amount)s")
            % {
                "amount": _span(
                    format_cny(Decimal(terms["amount_min"])),
                    format_cny(Decimal(terms["amount_max"])),
                )
            },
        ),
        TermRow(
            _("Term"),
            _months(_span(str(terms["term_min"]), str(terms["term_max"]))),
        ),
        TermRow(_("Annual rate"), span("rate_min", "rate_max")),
        TermRow(_("Repayment"), _term(terms, "repayment_method")),
        TermRow(_("Districts"), _term(terms, "regions")),
        TermRow(_("Industries"), _term(terms, "industries")),
        *(
            TermRow(TERM_FORMATS[name][0], _term(terms, name))
            for name in (
                "min_grade",
                "min_years_in_business",
                "min_tax_credit_grade",
                "excludes_dishonest_debtors",
                "excludes_unrepaired_serious_penalty",
                "required_categories",
            )
        ),
        TermRow(_("Tags"), _joined(tags, _("None"))),
        TermRow(_("Policy support"), _joined(policies, _("None"))),
        TermRow(_("Response"), _term(terms, "response_days")),
    ]
    rows += [
        TermRow(TERM_FORMATS[name][0], terms[name])
        for name in ("description", "name_en", "description_en")
        if terms.get(name)
    ]
    return rows


def term_changes(listed: dict[str, Any], proposed: dict[str, Any]) -> list[TermChange]:
    """The reviewed terms ``proposed`` changes, field by field, in the order of
    ``TERM_FORMATS`` (the exempt presentation fields are never part of it)."""
    return [
        TermChange(
            name=name,
            label=label,
            old=formatter(listed[name]),
            new=formatter(proposed[name]),
        )
        for name, (label, formatter) in TERM_FORMATS.items()
        if name not in lifecycle.REVIEW_EXEMPT_FIELDS
        and name in proposed
        and listed.get(name) != proposed[name]
    ]


@dataclass(frozen=True)
class ReviewCard:
    """What the operator reads before deciding: the product (new, or listed with a
    pending revision), every term as it would be listed and, for a revision, what
    it changes against the listed version."""

    product: LoanProduct
    rows: list[TermRow]
    revision: LoanProductRevision | None = None
    changes: list[TermChange] = field(default_factory=list)


def product_review_card(product: LoanProduct) -> ReviewCard:
    """A product submitted for listing (its places prefetched)."""
    return ReviewCard(product=product, rows=term_rows(product_terms(product)))


def revision_review_card(revision: LoanProductRevision) -> ReviewCard:
    """A pending change of a listed product (the product's places prefetched)."""
    return ReviewCard(
        product=revision.product,
        rows=term_rows(revision.proposed),
        revision=revision,
        changes=term_changes(product_terms(revision.product), revision.proposed),
    )
