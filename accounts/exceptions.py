"""Domain errors of the accounts app; views turn them into messages and 4xx answers."""

from core.exceptions import DomainError


class AccountsError(DomainError):
    """Base class: ``message`` is translated and safe to show; ``field`` names the input."""


class InvalidRole(AccountsError):
    pass


class AlreadyMember(AccountsError):
    pass


class InvitationAlreadyOpen(AccountsError):
    pass


class PermissionDenied(AccountsError):
    pass
