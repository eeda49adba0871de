"""Domain errors of the marketplace; views and the API turn them into messages / 4xx.

``code`` is the machine-readable reason the bank API returns beside the message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.exceptions import DomainError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class MarketplaceError(DomainError):
    code = "invalid"

    def __init__(
        self,
        message: StrOrPromise,
        *,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        if code:
            self.code = code


class InvalidApplication(MarketplaceError):
    """Carries every field error of an application or an action: ``errors`` maps
    field → list of messages."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first_field, messages = next(iter(errors.items()))
        super().__init__(messages[0], field=first_field)
        self.errors = errors


class ApplyNotPossible(MarketplaceError):
    """The SME cannot apply yet (no score, no scoring consent, not verified…); the
    message says what to do next."""

    code = "apply_not_possible"


class ActiveApplicationExists(MarketplaceError):
    code = "active_application_exists"


class IdempotencyKeyReused(MarketplaceError):
    """Internal: a concurrent request with the same key created the application."""

    code = "idempotency_key_reused"


class TransitionNotAllowed(MarketplaceError):
    code = "transition_not_allowed"


class NotPermitted(MarketplaceError):
    code = "not_permitted"


class StaleVersion(MarketplaceError):
    code = "stale_version"
