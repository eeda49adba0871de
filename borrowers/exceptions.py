"""Domain errors of the borrowers app; views turn them into messages and 4xx answers."""

from core.exceptions import DomainError


class BorrowersError(DomainError):
    """Base class: ``message`` is translated and safe to show; ``field`` names the input."""


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
