"""Money and percentage columns, defined once.

Amounts are ``Decimal`` in CNY with two decimal places (a currency column beside them
where an amount is stored), rates are annual percentages with two decimal places.
These are plain ``DecimalField``s built by functions, not field subclasses, so that a
migration names Django's own class and moving a definition here changes no schema.
"""

from __future__ import annotations

from django.db import models

MONEY_DECIMAL_PLACES = 2
#: Up to 99,999,999,999,999.99 CNY: loan products, registered capital.
MONEY_MAX_DIGITS = 16
#: Public-credit records carry provider totals that may exceed a loan's range.
RECORD_MONEY_MAX_DIGITS = 18
PERCENT_MAX_DIGITS = 5
PERCENT_DECIMAL_PLACES = 2
CURRENCY = "CNY"


def money_field(
    verbose_name, *, max_digits: int = MONEY_MAX_DIGITS, **kwargs
) -> models.DecimalField:
    """An amount in CNY (two decimal places)."""
    return models.DecimalField(
        verbose_name,
        max_digits=max_digits,
        decimal_places=MONEY_DECIMAL_PLACES,
        **kwargs,
    )


def percent_field(verbose_name, **kwargs) -> models.DecimalField:
    """An annual rate in percent (``3.45`` is 3.45 %), up to 999.99."""
    return models.DecimalField(
        verbose_name,
        max_digits=PERCENT_MAX_DIGITS,
        decimal_places=PERCENT_DECIMAL_PLACES,
        **kwargs,
    )
