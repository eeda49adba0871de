"""The demo enterprise's record (see ``manage.py seed_demo``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from accounts.models import Organization, OrganizationKind
from accounts.seed import DEMO_ORGANIZATIONS
from borrowers.models import Enterprise, VerificationMethod, VerificationStatus
from borrowers.uscc import make_uscc

DEMO_USCC = make_uscc("91440300MA5FXYD01")


def seed(**options) -> list[str]:
    organization = Organization.objects.get(
        kind=OrganizationKind.ENTERPRISE,
        name=DEMO_ORGANIZATIONS[OrganizationKind.ENTERPRISE],
    )
    Enterprise.objects.get_or_create(
        organization=organization,
        defaults={
            "uscc": DEMO_USCC,
            "name": organization.name,
            "legal_representative": "陈明",
            "registered_capital": Decimal("5000000.00"),
            "founded_on": dt.date(2016, 3, 18),
            "industry": "C",
            "district": "440306",
            "employees": 86,
            # The demo enterprise is shown after its real-name verification; a demo
            # user registers another one to walk through it (see creditdata.seed).
            "verification_status": VerificationStatus.VERIFIED,
            "verification_method": VerificationMethod.REGISTERED_CONTACT_CODE,
            "verified_at": timezone.now(),
        },
    )
    return [f"Demo enterprise: {organization.name} (USCC {DEMO_USCC})"]
