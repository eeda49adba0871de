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


class EnterpriseNotVerified(ConsentRequired):
    """The enterprise's registrant has not proved to act for it (企业实名认证).

    A ``ConsentRequired``: until it is verified no consent can be granted, so no
    consent is in force, and every caller that handles "no consent" (a pull, a
    provider webhook) already does the right thing — it reads and pulls nothing.
    """


class RegistryMismatch(BorrowersError):
    """What was typed does not match the registry record of the USCC.

    ``errors`` maps each field that does not match to its message; the messages never
    contain the registry's value.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors


class RegistryUnavailable(BorrowersError):
    """The provider's registry could not be asked; nothing was done."""


class TooManyAttempts(BorrowersError):
    """Too many attempts of one kind in a window (mismatched registrations, codes)."""


class EnterpriseAlreadyVerified(BorrowersError):
    pass


class VerificationFailed(BorrowersError):
    """A verification step was refused: wrong, expired, used or locked code; a letter
    that is not acceptable; a review of a letter no longer waiting for one."""


class NotOperator(BorrowersError):
    pass


class EnterpriseNotInRegistry(BorrowersError):
    """The registry has no active enterprise with this USCC."""
