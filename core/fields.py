"""Money and percentage columns, defined once.

Amounts are ``Decimal`` in CNY with two decimal places (a currency column beside them
where an amount is stored), rates are annual percentages with two decimal places.
These are plain ``DecimalField``s built by functions, not field subclasses, so that a
migration names Django's own class and moving a definition here changes no schema.
``EncryptedTextField`` (credentials encrypted at rest) is the one subclass.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core import crypto

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


class EncryptedTextField(models.TextField):
    """Text stored encrypted (a Fernet token, ``core.crypto``), plaintext in Python.

    For credentials the platform must use again (a webhook signing secret), so cannot
    hash. A subclass, unlike the fields above, because the conversion is the point:
    ``from_db_value`` decrypts, ``get_prep_value`` encrypts. ``None`` and ``""`` are
    stored as they are (no value is not a secret).

    Every save makes a new token (Fernet uses a random IV), so the column cannot be
    searched: every lookup but ``isnull`` is refused rather than silently matching
    nothing. ``manage.py encryption_rotate`` re-encrypts every such column.
    """

    description = _("Text encrypted at rest")

    def get_lookup(self, lookup_name: str):
        if lookup_name != "isnull":
            return None  # Django then raises FieldError: unsupported lookup
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str):
        return None

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value, where=f"{self.model._meta.label}.{self.name}")

    def to_python(self, value):
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or isinstance(value, crypto.Ciphertext):
            return value
        return crypto.encrypt(str(value))
