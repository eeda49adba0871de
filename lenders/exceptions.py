"""Domain errors of the lenders app; views and the API turn them into 4xx answers."""

from core.exceptions import DomainError


class LendersError(DomainError):
    """Base class: ``message`` is translated and safe to show; ``field`` names the input."""


class TransitionNotAllowed(LendersError):
    pass


class NotPermitted(LendersError):
    pass


class InvalidProduct(LendersError):
    """Carries every field error: ``errors`` maps field → list of messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first_field, messages = next(iter(errors.items()))
        super().__init__(messages[0], field=first_field)
        self.errors = errors
