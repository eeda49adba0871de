"""Onboarding organizations: an enterprise registers itself; the platform operator
opens banks and other organizations and invites their first administrator.

Enterprise: code free? (borrowers) → the provider's registration record of the code
(creditdata client) → name and legal representative match it, enterprise created
unverified (borrowers) → real-name verification (企业实名认证): a code the provider
sends to the registered contact (creditdata client ⇄ borrowers), or an authorization
letter an operator reviews (borrowers only) → its owner grants consents and invites
members. Bank: organization (accounts) → bank record (lenders) → invitation of its
administrator (accounts), all or nothing.

borrowers may not call the provider (creditdata depends on borrowers, not the other
way round), so the provider calls are made here and borrowers stores the outcome. No
database transaction is held open across a provider call.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import ROLES_BY_KIND, Organization, OrganizationKind, Role, User
from borrowers import services as borrower_services
from borrowers.exceptions import (
    EnterpriseNotInRegistry,
    RegistryUnavailable,
    VerificationFailed,
)
from borrowers.models import Enterprise, EnterpriseVerification
from creditdata import services as creditdata_services
from creditdata.exceptions import (
    EnterpriseNotActive,
    LegalRepresentativeMismatch,
    NotFoundError,
    ProviderError,
    VerificationAlreadyUsed,
    VerificationCodeInvalid,
    VerificationExpired,
    VerificationLocked,
)
from lenders import services as lender_services
from lenders.models import Lender

logger = logging.getLogger(__name__)


def _registry_unavailable(error: ProviderError, action: str) -> RegistryUnavailable:
    logger.error(
        "%s: provider call failed (%s, request_id=%s): %s",
        action,
        type(error).__name__,
        error.request_id,
        error,
    )
    return RegistryUnavailable(
        _(
            "The enterprise registry cannot be reached right now, so nothing was "
            "done. Please try again in a few minutes."
        )
    )


def enterprise_register(
    *,
    user: User,
    uscc: str,
    name: str,
    legal_representative: str,
    registered_capital: Decimal,
    founded_on: dt.date,
    industry: str,
    district: str,
    employees: int,
) -> Enterprise:
    """The user registers an enterprise and becomes its owner, unverified.

    The typed name and legal representative must match the provider's registration
    record of the code; a code the registry does not know, or the registry being
    unreachable, registers nothing."""
    uscc = borrower_services.enterprise_register_precheck(user=user, uscc=uscc)
    try:
        with creditdata_services.provider_client() as client:
            record = client.get_enterprise(uscc)
    except NotFoundError:
        raise EnterpriseNotInRegistry(
            _("The registry has no enterprise with this Unified Social Credit Code."),
            field="uscc",
        ) from None
    except ProviderError as error:
        raise _registry_unavailable(error, "registration lookup") from None
    registry = borrower_services.RegistryRecord(
        name=str(record.get("name") or ""),
        legal_representative=str(record.get("legal_representative") or ""),
        status=str(record.get("status") or ""),
    )
    return borrower_services.enterprise_register(
        user=user,
        uscc=uscc,
        name=name,
        legal_representative=legal_representative,
        registered_capital=registered_capital,
        founded_on=founded_on,
        industry=industry,
        district=district,
        employees=employees,
        registry=registry,
    )


def verification_code_send(
    *, enterprise: Enterprise, user: User
) -> EnterpriseVerification:
    """Ask the provider to send a code to the enterprise's registered contact.

    The provider checks the legal representative against its record once more; a
    refusal says only that the registry refused, never what it holds."""
    borrower_services.verification_code_check_send(enterprise=enterprise, user=user)
    try:
        with creditdata_services.provider_client() as client:
            challenge = client.create_verification(
                uscc=enterprise.uscc,
                legal_representative=enterprise.legal_representative,
            )
    except (LegalRepresentativeMismatch, EnterpriseNotActive, NotFoundError):
        raise VerificationFailed(
            _(
                "The registry could not send a code for this enterprise. Upload an "
                "authorization letter instead; an operator will review it."
            )
        ) from None
    except ProviderError as error:
        raise _registry_unavailable(error, "verification send") from None
    return borrower_services.verification_code_record(
        enterprise=enterprise,
        user=user,
        challenge_id=challenge["id"],
        masked_contact=challenge["masked_contact"],
        expires_at=challenge["expires_at"],
    )


def verification_code_confirm(
    *, enterprise: Enterprise, user: User, code: str
) -> Enterprise:
    """Enter the code: the provider decides whether it is right, borrowers records
    the outcome (a wrong, expired, used or locked code changes no verification
    status; the provider being unreachable costs no attempt)."""
    verification = borrower_services.verification_code_pending(
        enterprise=enterprise, user=user
    )
    try:
        with creditdata_services.provider_client() as client:
            client.confirm_verification(verification.provider_challenge_id, code=code)
    except VerificationCodeInvalid as error:
        borrower_services.verification_code_wrong(
            verification=verification, attempts_remaining=error.attempts_remaining
        )
    except VerificationLocked:
        borrower_services.verification_code_locked(verification=verification)
    except VerificationAlreadyUsed:
        borrower_services.verification_code_used(verification=verification)
    except (VerificationExpired, NotFoundError):
        borrower_services.verification_code_expired(verification=verification)
    except ProviderError as error:
        raise _registry_unavailable(error, "verification confirm") from None
    return borrower_services.verification_code_confirmed(
        verification=verification, user=user
    )


@transaction.atomic
def organization_onboard(
    *, kind: str, name: str, admin_email: str, invited_by: User, name_en: str = ""
) -> Organization:
    """An operator opens an organization and invites its first manager (the kind's
    most privileged role); nothing is kept if the invitation is refused."""
    organization = account_services.organization_create(
        kind=kind, name=name, name_en=name_en
    )
    account_services.invitation_create(
        organization=organization,
        email=admin_email,
        role=ROLES_BY_KIND[organization.kind][0],
        invited_by=invited_by,
    )
    return organization


@transaction.atomic
def lender_onboard(
    *,
    name: str,
    short_name: str,
    licence_number: str,
    head_office_address: str,
    admin_email: str,
    invited_by: User,
    name_en: str = "",
) -> Lender:
    """An operator onboards a bank: its organization (with its optional English
    name), its bank record and the invitation of its administrator commit together
    or not at all."""
    organization = account_services.organization_create(
        kind=OrganizationKind.LENDER, name=name, name_en=name_en
    )
    lender = lender_services.lender_onboard(
        organization=organization,
        name=name,
        short_name=short_name,
        licence_number=licence_number,
        head_office_address=head_office_address,
    )
    account_services.invitation_create(
        organization=organization,
        email=admin_email,
        role=Role.ADMIN,
        invited_by=invited_by,
    )
    return lender
