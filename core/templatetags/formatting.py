"""How the platform writes amounts, numbers, months and coded values, in one place.

``{% load formatting %}``, then ``{{ amount|money }}`` ("1,234,567.89元" in Chinese,
"CNY 1,234,567.89" in English), ``{{ count|number }}``, ``{{ period|month }}``
("2026年3月" / "Mar 2026"), ``{{ authorization.scope|category_labels }}`` and
``{{ flag|yes_no }}`` (and ``category_label`` for one code, ``join_list`` for a list
in running text). Each follows the active language (so ``{% language %}`` in an
email picks the recipient's), and each is a plain function too, for Python callers.

Digits are always grouped in amounts and counts (``force_grouping``): the site does
not turn on ``USE_THOUSAND_SEPARATOR``, which would also put commas into years and
ids. The separator and group size are the locale's (``config/formats``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext

from core.codes import Category
from core.fields import MONEY_DECIMAL_PLACES

register = template.Library()

_CATEGORY_ORDER = {value: position for position, value in enumerate(Category.values)}


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def format_number(value: object, decimal_places: int | None = None) -> str:
    """``value`` with its digits grouped as the active language groups them; with
    ``decimal_places`` fixed, otherwise as many as it has. Not a number: ``""``."""
    number = _decimal(value)
    if number is None:
        return ""
    return formats.number_format(
        number, decimal_places, use_l10n=True, force_grouping=True
    )


def format_money(value: object, decimal_places: int = MONEY_DECIMAL_PLACES) -> str:
    """An amount in CNY with the currency as the active language writes it
    ("1,234,567.89元", "CNY 1,234,567.89"). Not a number: ``""``."""
    amount = format_number(value, decimal_places)
    if not amount:
        return ""
    return gettext("CNY %(amount)s") % {"amount": amount}


def format_month(value: dt.date | None) -> str:
    """A month of a monthly series, in the locale's ``YEAR_MONTH_FORMAT``."""
    if not isinstance(value, dt.date):
        return ""
    return formats.date_format(value, "YEAR_MONTH_FORMAT")


def category_labels(codes: Iterable[str] | None) -> list[str]:
    """The labels of data categories, in catalogue order (an unknown code, which
    validation never stores, is shown as it is rather than dropped)."""
    ordered = sorted(codes or (), key=lambda code: _CATEGORY_ORDER.get(code, 99))
    return [
        str(Category(code).label) if code in _CATEGORY_ORDER else str(code)
        for code in ordered
    ]


def category_label(code: str) -> str:
    """The label of one data category (see ``category_labels``)."""
    labels = category_labels([code])
    return labels[0] if labels else ""


def join_list(items: Iterable[object] | None) -> str:
    """Items of a list in running text: "纳税、海关进出口" in Chinese, "Tax; Customs
    import and export" in English (a semicolon, as some labels hold commas)."""
    # Translators: between the items of a list in running text; Chinese "、".
    separator = pgettext("separator between the items of a list", "; ")
    return separator.join(str(item) for item in items or ())


def yes_no(value: object) -> str:
    """A flag as a word: "是"/"否", "Yes"/"No"; unknown (``None``): ``""``."""
    if value is None:
        return ""
    return capfirst(gettext("yes") if value else gettext("no"))


register.filter("money", format_money)
register.filter("number", format_number)
register.filter("month", format_month)
register.filter("category_label", category_label)
register.filter("category_labels", category_labels)
register.filter("join_list", join_list)
register.filter("yes_no", yes_no)
