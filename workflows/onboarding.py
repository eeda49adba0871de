"""Onboarding organizations: an enterprise registers itself; the platform operator
opens banks and other organizations and invites their first administrator.

Enterprise: register (borrowers) → real-name verification against the registry record
→ its owner invites members (accounts). Bank: organization (accounts) → bank record
(lenders) → invitation of its administrator (accounts), all or nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from accounts import services as account_services
from accounts.models import ROLES_BY_KIND, Organization, OrganizationKind, Role, User
from borrowers import services as borrower_services
from borrowers.models import Enterprise
from lenders import services as lender_services
from lenders.models import Lender


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
    """The user registers an enterprise and becomes its owner."""
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
    )


@transaction.atomic
def organization_onboard(
    *, kind: str, name: str, admin_email: str, invited_by: User
) -> Organization:
    """An operator opens an organization and invites its first manager (the kind's
    most privileged role); nothing is kept if the invitation is refused."""
    organization = account_services.organization_create(kind=kind, name=name)
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
) -> Lender:
    """An operator onboards a bank: its organization, its bank record and the
    invitation of its administrator commit together or not at all."""
    organization = account_services.organization_create(
        kind=OrganizationKind.LENDER, name=name
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
