"""Domain errors of the borrowers app; views turn them into messages and 4xx answers."""


class BorrowersError(Exception):
    """Base class: ``message`` is translated and safe to show; ``field`` names the input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class EnterpriseAlreadyRegistered(BorrowersError):
    pass


class NotEnterpriseOwner(BorrowersError):
    pass


class InvalidConsent(BorrowersError):
    pass


class ConsentRequired(BorrowersError):
    """A read the enterprise has not (or no longer) consented to."""


class AuthorizationImmutable(BorrowersError):
    pass


class AccessLogAppendOnly(BorrowersError):
    pass
