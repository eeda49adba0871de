from __future__ import annotations

from decimal import Decimal

import factory

from accounts.models import Membership, OrganizationKind, Role
from lenders.models import (
    Lender,
    LoanProduct,
    LoanProductDistrict,
    LoanProductIndustry,
    ProductStatus,
)
from tests.factories.accounts import OrganizationFactory, UserFactory


class LenderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lender

    organization = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.LENDER)
    name = factory.Sequence(lambda n: f"示范银行{n}股份有限公司")
    short_name = factory.Sequence(lambda n: f"示范银行{n}")


class LoanProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoanProduct

    lender = factory.SubFactory(LenderFactory)
    code = factory.Sequence(lambda n: f"prod-{n}")
    name = factory.Sequence(lambda n: f"科创贷{n}号")
    product_type = "credit"
    guarantee_type = "none"
    amount_min = Decimal("100000.00")
    amount_max = Decimal("3000000.00")
    term_min = 6
    term_max = 36
    rate_min = Decimal("3.45")
    rate_max = Decimal("6.50")
    repayment_method = "equal_instalment"
    response_days = 5
    status = ProductStatus.DRAFT


def listed_product(regions=(), industries=(), **kwargs) -> LoanProduct:
    """A listed product (bypassing review: for tests of what is listed)."""
    product = LoanProductFactory(status=ProductStatus.LISTED, **kwargs)
    LoanProductDistrict.objects.bulk_create(
        LoanProductDistrict(product=product, district=d) for d in regions
    )
    LoanProductIndustry.objects.bulk_create(
        LoanProductIndustry(product=product, industry=i) for i in industries
    )
    return product


def lender_with_staff():
    """A lender with an admin and a reviewer (verified users, no TOTP yet)."""
    lender = LenderFactory()
    admin, reviewer = UserFactory(), UserFactory()
    Membership.objects.create(
        user=admin, organization=lender.organization, role=Role.ADMIN
    )
    Membership.objects.create(
        user=reviewer, organization=lender.organization, role=Role.REVIEWER
    )
    return lender, admin, reviewer


#: What a bank admin posts on the product form: a valid credit product.
PRODUCT_FORM = {
    "code": "kc-9",
    "name": "科创贷",
    "product_type": "credit",
    "guarantee_type": "none",
    "amount_min": "100000",
    "amount_max": "2000000",
    "term_min": "3",
    "term_max": "24",
    "rate_min": "3.50",
    "rate_max": "5.50",
    "repayment_method": "equal_instalment",
    "min_years_in_business": "1",
    "response_days": "3",
    "regions": ["440305"],
    "industries": ["I"],
}
