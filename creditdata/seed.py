"""The demo enterprise's consent to the platform and its first data pull."""

from __future__ import annotations

from accounts.models import Role
from accounts.selectors import platform_organization
from borrowers import services as borrower_services
from borrowers.models import ConsentPurpose, Enterprise
from borrowers.seed import DEMO_USCC
from borrowers.selectors import active_authorizations
from core.codes import Category
from creditdata import services


def seed(**options) -> list[str]:
    enterprise = Enterprise.objects.get(uscc=DEMO_USCC)
    if active_authorizations(enterprise=enterprise).exists():
        return ["Demo consent already in force"]
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
    return ["Demo consent granted to the platform; public credit data pull queued"]
