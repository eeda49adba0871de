"""Domain errors of the accounts app; views turn them into messages and 4xx answers."""


class AccountsError(Exception):
    """Base class: ``message`` is translated and safe to show; ``field`` names the input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidRole(AccountsError):
    pass


class AlreadyMember(AccountsError):
    pass


class InvitationAlreadyOpen(AccountsError):
    pass


class PermissionDenied(AccountsError):
    pass
