"""Typed errors of the public credit data provider client.

Callers (ingestion tasks, the objection workflow, webhook views) decide what to do by the
*type* of the error, never by parsing messages: an ``AuthenticationError`` pages an
operator because our API key is wrong, a ``RateLimitedError`` reschedules the task after
``retry_after``, a ``ProviderUnavailable`` is retried later by Celery, and an
``InvalidRequestError`` is a bug on our side that must not be retried at all. Everything
the client raises for a provider problem is a ``ProviderError``, so one ``except`` is
enough for code that only needs to know "the provider call failed".
"""

from __future__ import annotations

from typing import Any

from core.exceptions import DomainError


class CreditDataError(DomainError):
    """Base of the creditdata app's domain errors (not of the provider client's)."""


class ConsentWithdrawn(CreditDataError):
    """Raised inside a pull when its consent is no longer in force."""


class EventReplayed(CreditDataError):
    """A provider webhook event whose id was received before (a replay)."""


class ProviderError(Exception):
    """Base of every error raised for a failed call to the credit data provider.

    ``request_id`` is the ``X-Request-Id`` we sent (the same on every retry of one
    logical call); the provider logs it too, so quoting it in a support ticket lets
    both sides find the call. ``provider_request_id`` is the provider's own id from its
    response header when it answered at all. ``provider_message`` is the provider's
    error text verbatim, while ``message`` is our full sentence saying what happened.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        provider_message: str | None = None,
        provider_request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.code = code
        self.provider_message = provider_message
        self.provider_request_id = provider_request_id

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[ProviderError], tuple[str], dict[str, object]]:
        # Celery pickles a failed task's exception; keep status, code and ids with it.
        return (self.__class__, (self.message,), dict(self.__dict__))


class AuthenticationError(ProviderError):
    """401/403: our API key is missing, wrong, revoked or lacks the scope.

    Never retried: the same key will be refused again, and hammering the provider with
    a bad key can get the platform's account locked.
    """


class NotFoundError(ProviderError):
    """404: the provider has no such enterprise (or resource)."""


class RateLimitedError(ProviderError):
    """429 still returned after every retry.

    ``retry_after`` is the delay in seconds the provider asked for in its last answer
    (uncapped, as the provider said it), or ``None`` when it gave none; a Celery task
    uses it as its countdown instead of guessing.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        request_id: str | None = None,
        code: str | None = None,
        provider_message: str | None = None,
        provider_request_id: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status=status,
            request_id=request_id,
            code=code,
            provider_message=provider_message,
            provider_request_id=provider_request_id,
        )
        self.retry_after = retry_after


class InvalidRequestError(ProviderError):
    """Any other 4xx (400, 409, 422...): the provider refused what we sent.

    Never retried, since the same request would be refused the same way.
    """


class ProviderUnavailable(ProviderError):
    """Connection errors, timeouts or 5xx answers still failing after every retry.

    ``status`` is the last HTTP status, or ``None`` when the provider never answered.
    """


class MalformedResponse(ProviderError):
    """A 2xx answer whose body is not JSON or not the documented shape.

    Not retried: a provider that answers "success" with an unexpected body has changed
    its contract, and ingesting a guess could store wrong credit data for an enterprise.
    """


class LegalRepresentativeMismatch(InvalidRequestError):
    """The named legal representative is not the one the registry holds for the USCC.

    The provider never says whom it holds; neither may we, to the person asking.
    """


class EnterpriseNotActive(InvalidRequestError):
    """The registry lists the enterprise as revoked or deregistered: nothing to verify."""


class VerificationError(InvalidRequestError):
    """A real-name verification challenge refused a confirmation attempt.

    ``attempts_remaining`` is how many more codes may be tried, when the provider said.
    """

    def __init__(
        self, message: str, *, attempts_remaining: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.attempts_remaining = attempts_remaining


class VerificationCodeInvalid(VerificationError):
    """400 ``invalid_code``: a wrong code; more attempts are left."""


class VerificationExpired(VerificationError):
    """410 ``verification_expired``: the code's 10 minutes are over."""


class VerificationAlreadyUsed(VerificationError):
    """409 ``verification_already_used``: the challenge was confirmed before."""


class VerificationLocked(VerificationError):
    """409 ``verification_locked``: too many wrong codes; a new challenge is needed."""
