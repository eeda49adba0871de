"""The demo enterprise's consent to the platform and its first data pull, and the
sandbox enterprises a demo user can register and verify."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import platform_organization
from borrowers import services as borrower_services
from borrowers.models import ConsentPurpose, Enterprise
from borrowers.seed import DEMO_USCC
from borrowers.selectors import active_authorizations
from core.checks import is_sandbox_url
from core.codes import Category
from creditdata import services
from creditdata.synthetic import firm_profile, synthetic_uscc

#: Synthetic enterprises offered in the demo for registration (first free ones used).
SANDBOX_DEMO_INDICES = range(9001, 9040)
SANDBOX_DEMO_COUNT = 3


def sandbox_registrable() -> list[str]:
    """Lines naming a few unregistered sandbox USCCs with the name and legal
    representative the sandbox registry holds, so the demo's registration (which
    must match the registry) and real-name verification can be tried. Synthetic data:
    fine to print here; the app itself never shows it to an unverified user."""
    if not is_sandbox_url(settings.CREDIT_PROVIDER_URL):
        return []
    lines = ["", "Sandbox enterprises you can register (synthetic registry records):"]
    today = timezone.localdate()
    found = 0
    for index in SANDBOX_DEMO_INDICES:
        uscc = synthetic_uscc(index)
        profile = firm_profile(uscc)
        revoked = profile.revoked_on is not None and profile.revoked_on <= today
        if revoked or Enterprise.objects.filter(uscc=uscc).exists():
            continue
        lines.append(
            f"  {uscc}  {profile.name}  legal representative {profile.legal_representative}"
        )
        found += 1
        if found == SANDBOX_DEMO_COUNT:
            break
    if settings.CREDIT_SANDBOX_ENABLED:
        lines.append(
            "  The verification code is shown at /sandbox/provider/outbox/ "
            "(the sandbox sends no text message)."
        )
    return lines


def seed(**options) -> list[str]:
    enterprise = Enterprise.objects.get(uscc=DEMO_USCC)
    if active_authorizations(enterprise=enterprise).exists():
        return ["Demo consent already in force", *sandbox_registrable()]
    owner = enterprise.organization.memberships.get(role=Role.OWNER).user
    borrower_services.authorization_grant(
        enterprise=enterprise,
        grantee=platform_organization(),
        purpose=ConsentPurpose.SCORING,
        categories=list(Category.values),
        months=12,
        granted_by=owner,
        language="zh-hans",
    )
    # The pull runs after commit: in-process in the embedded default, else on a worker.
    services.ingestion_request(enterprise=enterprise, requested_by=owner)
    return [
        "Demo consent granted to the platform; public credit data pull queued",
        *sandbox_registrable(),
    ]
