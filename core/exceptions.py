"""The base of every domain error: each app's ``<App>Error`` derives from it.

A domain error is a business rule the input broke, never a bug: ``message`` is
translated and safe to show to the user, ``field`` names the input it is about (a form
puts it under that field, the API returns it as the error's attribute). Views and API
views turn these into messages and 4xx answers; anything else is a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class DomainError(Exception):
    # ``message`` may be lazy (a model's rule, raised before the language is known).
    def __init__(self, message: StrOrPromise, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class TooSoon(DomainError):
    """An action the user may repeat only after a while (a manual data pull, a manual
    score): ``retry_at`` is when it is allowed again."""

    def __init__(
        self, message: StrOrPromise, *, retry_at, field: str | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.retry_at = retry_at
