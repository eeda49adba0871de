from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Membership, Organization, OrganizationKind, Role
from accounts.selectors import platform_organization
from borrowers import services
from borrowers.models import (
    ConsentPurpose,
    CreditAuthorization,
    Enterprise,
    VerificationMethod,
    VerificationStatus,
)
from borrowers.uscc import make_uscc
from core.codes import Category
from tests.factories.accounts import OrganizationFactory, UserFactory


def uscc_for(index: int) -> str:
    """A valid USCC: Shenzhen division, index-derived organization code."""
    from borrowers.uscc import ALPHABET

    digits = []
    value = index
    for _ in range(8):
        digits.append(ALPHABET[value % 31])
        value //= 31
    return make_uscc("91440300" + "".join(reversed(digits)) + "0")


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    organization = factory.SubFactory(
        OrganizationFactory, kind=OrganizationKind.ENTERPRISE
    )
    uscc = factory.Sequence(lambda n: uscc_for(n + 1000))
    name = factory.Sequence(lambda n: f"深圳市测试{n}科技有限公司")
    legal_representative = "张三"
    registered_capital = Decimal("1000000.00")
    founded_on = dt.date(2018, 5, 1)
    industry = "I"
    district = "440305"
    employees = 25
    # Verified by default, so tests of what comes after verification need not repeat
    # it; ``EnterpriseFactory(unverified=True)`` is one that just registered.
    verification_status = VerificationStatus.VERIFIED
    verification_method = VerificationMethod.REGISTERED_CONTACT_CODE
    verified_at = factory.LazyFunction(timezone.now)

    class Params:
        unverified = factory.Trait(
            verification_status=VerificationStatus.UNVERIFIED,
            verification_method="",
            verified_at=None,
        )


def enterprise_with_owner(**kwargs):
    """An enterprise and its owner (a verified user)."""
    enterprise = EnterpriseFactory(**kwargs)
    owner = UserFactory()
    Membership.objects.create(
        user=owner, organization=enterprise.organization, role=Role.OWNER
    )
    return enterprise, owner


def grant(
    enterprise: Enterprise,
    owner,
    *,
    grantee: Organization | None = None,
    purpose: str = ConsentPurpose.SCORING,
    categories: list[str] | None = None,
    months: int = 12,
) -> CreditAuthorization:
    return services.authorization_grant(
        enterprise=enterprise,
        grantee=grantee or platform_organization(),
        purpose=purpose,
        categories=categories if categories is not None else list(Category.values),
        months=months,
        granted_by=owner,
        language="zh-hans",
    )
