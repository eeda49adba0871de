"""Filters and sort orders of the public product supermarket.

An SME describes what it needs (amount, term, district, industry, …) and sees the
listed products that can serve it. The rules here are the single definition of "a
product matches"; the views only bind request data and paginate.

Bad input never breaks the page: django-filter applies only the fields that validated
(``FilterSet.qs`` filters with ``form.cleaned_data``, from which an invalid field is
absent), so a typo in one field shows that field's error while every other filter,
and the default sort, still apply.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, F, OrderBy, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from core import widgets
from core.codes import DISTRICTS, INDUSTRIES
from lenders.models import (
    GuaranteeType,
    Lender,
    LoanProduct,
    LoanProductDistrict,
    LoanProductIndustry,
    ProductStatus,
    ProductType,
)

# Labels of the badges and of the matching checkboxes. The model's verbose names mix
# both languages ("pure credit (纯信用)"), which reads badly on a public page.
TAG_LABELS = {
    "pure_credit": _("Pure credit"),
    "fully_online": _("Fully online"),
    "fast_approval": _("Fast approval"),
}
POLICY_LABELS = {
    "interest_subsidy": _("Interest subsidy"),
    "risk_compensation": _("Risk compensation"),
    "government_guarantee": _("Government guarantee"),
}


class ProductSort:
    """The supermarket's sort orders; ``RATE`` is the default.

    Every order ends with the primary key so that equal values (two products at
    3.45%) keep one order across requests and no product is skipped or shown twice
    when paging.
    """

    RATE = "rate"
    AMOUNT = "amount"
    RESPONSE = "response"
    NEWEST = "newest"
    DEFAULT = RATE

    CHOICES = [
        (RATE, _("Lowest rate first")),
        (AMOUNT, _("Highest amount first")),
        (RESPONSE, _("Fastest response first")),
        (NEWEST, _("Newest first")),
    ]

    ORDERINGS: dict[str, tuple[str | OrderBy, ...]] = {
        RATE: ("rate_min", "pk"),
        AMOUNT: ("-amount_max", "pk"),
        RESPONSE: ("response_days", "pk"),
        # Products listed before ``listed_at`` was recorded sort last on every
        # database (PostgreSQL would put NULL first in a descending order).
        NEWEST: (F("listed_at").desc(nulls_last=True), "-pk"),
    }


def listed_products() -> QuerySet[LoanProduct]:
    """Every product the public may see, in the default sort order.

    Only listed products are public: drafts, products under review and delisted ones
    never appear, whatever the filters.
    """
    return LoanProduct.objects.filter(status=ProductStatus.LISTED).order_by(
        *ProductSort.ORDERINGS[ProductSort.DEFAULT]
    )


def lenders_with_listed_products() -> QuerySet[Lender]:
    """The banks an SME can pick: active and with at least one listed product.

    A bank with nothing on the shelf would only ever lead to an empty result.
    """
    has_listed = Exists(
        LoanProduct.objects.filter(lender=OuterRef("pk"), status=ProductStatus.LISTED)
    )
    return (
        Lender.objects.filter(has_listed, is_active=True)
        .select_related("organization")
        .order_by("short_name", "pk")
    )


class LenderChoiceField(forms.ModelChoiceField):
    """Banks by their short name in the page's language (English on /en/)."""

    def label_from_instance(self, obj: Lender) -> str:
        return obj.display_short_name


class LenderFilter(django_filters.ModelChoiceFilter):
    field_class = LenderChoiceField


class IntegerFilter(django_filters.NumberFilter):
    """A number filter that accepts whole numbers only (months are not fractional)."""

    field_class = forms.IntegerField


class CheckedFilter(django_filters.Filter):
    """A checkbox that narrows the result when ticked and does nothing otherwise.

    django-filter's ``BooleanFilter`` is a yes/no/unknown choice; an unticked box
    would there mean "only products *without* the tag", which is not what an SME
    unticking "pure credit" wants.
    """

    field_class = forms.BooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", widgets.CheckboxInput)
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value is True:
            return qs.filter(**{self.field_name: True})
        return qs


def _offered_in(
    queryset: QuerySet[LoanProduct],
    model: type[LoanProductDistrict] | type[LoanProductIndustry],
    field: str,
    value: str,
) -> QuerySet[LoanProduct]:
    """Products with a ``value`` row, or with no rows at all (no restriction).

    ``Exists`` keeps one result row per product (a join would need ``distinct()``)
    and lets the database use the (district|industry, product) index.
    """
    rows = model.objects.filter(product=OuterRef("pk"))
    return queryset.filter(Exists(rows.filter(**{field: value})) | ~Exists(rows))


class ProductFilterSet(django_filters.FilterSet):
    """What an SME can ask of the supermarket, over listed products only."""

    product_type = django_filters.MultipleChoiceFilter(
        label=_("Product type"),
        choices=ProductType.choices,
        widget=forms.CheckboxSelectMultiple,
        # One row per product already: no DISTINCT over thousands of rows.
        distinct=False,
    )
    guarantee_type = django_filters.MultipleChoiceFilter(
        label=_("Guarantee type"),
        choices=GuaranteeType.choices,
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )
    amount = django_filters.NumberFilter(
        label=_("Amount needed (CNY)"),
        method="filter_amount",
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Products that lend this amount."),
        widget=widgets.NumberInput,
    )
    term = IntegerFilter(
        label=_("Term (months)"),
        method="filter_term",
        min_value=1,
        max_value=600,
        help_text=_("Products that lend for this many months."),
        widget=widgets.NumberInput,
    )
    max_rate = django_filters.NumberFilter(
        label=_("Highest acceptable annual rate (%)"),
        method="filter_max_rate",
        min_value=Decimal("0.01"),
        max_digits=5,
        decimal_places=2,
        help_text=_("Products whose lowest rate is at most this."),
        widget=widgets.NumberInput,
    )
    district = django_filters.ChoiceFilter(
        label=_("District"),
        choices=list(DISTRICTS.items()),
        empty_label=_("Any district"),
        method="filter_district",
        help_text=_("Includes products offered city-wide."),
        widget=widgets.Select,
    )
    industry = django_filters.ChoiceFilter(
        label=_("Industry"),
        choices=list(INDUSTRIES.items()),
        empty_label=_("Any industry"),
        method="filter_industry",
        help_text=_("Includes products open to every industry."),
        widget=widgets.Select,
    )
    pure_credit = CheckedFilter(label=TAG_LABELS["pure_credit"])
    fully_online = CheckedFilter(label=TAG_LABELS["fully_online"])
    fast_approval = CheckedFilter(label=TAG_LABELS["fast_approval"])
    interest_subsidy = CheckedFilter(label=POLICY_LABELS["interest_subsidy"])
    risk_compensation = CheckedFilter(label=POLICY_LABELS["risk_compensation"])
    government_guarantee = CheckedFilter(label=POLICY_LABELS["government_guarantee"])
    lender = LenderFilter(
        label=_("Lender"),
        queryset=lenders_with_listed_products(),
        empty_label=_("Any bank"),
        widget=widgets.Select,
    )
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"),
        choices=ProductSort.CHOICES,
        empty_label=None,
        method="keep_order_for_later",
        widget=widgets.Select,
    )

    class Meta:
        model = LoanProduct
        fields: list[str] = []

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet[LoanProduct] | None = None,
        **kwargs: Any,
    ) -> None:
        # Default to the public shelf so no caller can forget the status rule.
        if queryset is None:
            queryset = listed_products()
        super().__init__(data, queryset, **kwargs)

    # --- filter methods ---------------------------------------------------------------

    def filter_amount(self, queryset: QuerySet, name: str, value: Decimal) -> QuerySet:
        return queryset.filter(amount_min__lte=value, amount_max__gte=value)

    def filter_term(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        return queryset.filter(term_min__lte=value, term_max__gte=value)

    def filter_max_rate(
        self, queryset: QuerySet, name: str, value: Decimal
    ) -> QuerySet:
        return queryset.filter(rate_min__lte=value)

    def filter_district(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _offered_in(queryset, LoanProductDistrict, "district", value)

    def filter_industry(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _offered_in(queryset, LoanProductIndustry, "industry", value)

    def keep_order_for_later(
        self, queryset: QuerySet, name: str, value: str
    ) -> QuerySet:
        """Sorting happens in ``filter_queryset``: it must apply even when ``sort`` is
        missing or invalid, and a field's method only runs for a valid value."""
        return queryset

    # --- FilterSet hooks --------------------------------------------------------------

    _form_class: type[forms.Form] | None = None

    def get_form_class(self) -> type[forms.Form]:
        """The form class, built once: django-filter builds a new class (and runs the
        form metaclass over every field) for every request. Its fields are the same
        on every request, and each form instance copies them anyway."""
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            cls._form_class = super().get_form_class()
        return cls._form_class  # type: ignore[return-value]

    @property
    def sort_key(self) -> str:
        """The sort in effect: the valid one asked for, else the default."""
        cleaned = getattr(self.form, "cleaned_data", None) or {}
        sort = cleaned.get("sort")
        return sort if sort in ProductSort.ORDERINGS else ProductSort.DEFAULT

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        return queryset.order_by(*ProductSort.ORDERINGS[self.sort_key])
