"""The demo bank's record and a few listed loan products (see ``manage.py seed_demo``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

from accounts.models import Organization, OrganizationKind, Role
from accounts.seed import DEMO_ORGANIZATIONS
from accounts.selectors import platform_organization
from lenders import services
from lenders.models import Lender, LoanProduct


class _ProductSpec(TypedDict):
    #: ``product_create``'s ``data``: the product's fields.
    data: dict[str, Any]
    regions: list[str]
    industries: list[str]


PRODUCTS: list[_ProductSpec] = [
    {
        "data": {
            "code": "kc-credit",
            "name": "科创信用贷",
            "name_en": "Tech Innovation Credit Loan",
            "description_en": "Unsecured credit for technology SMEs, entirely online, "
            "with the city's interest subsidy.",
            "product_type": "credit",
            "guarantee_type": "none",
            "amount_min": Decimal("100000"),
            "amount_max": Decimal("3000000"),
            "term_min": 3,
            "term_max": 36,
            "rate_min": Decimal("3.45"),
            "rate_max": Decimal("5.80"),
            "repayment_method": "interest_first",
            "min_grade": "B",
            "min_years_in_business": Decimal("2"),
            "pure_credit": True,
            "fully_online": True,
            "interest_subsidy": True,
            "response_days": 3,
            "description": "面向科技型中小企业的纯信用贷款，全流程线上办理，享受市级贴息。",
            "required_categories": [
                "tax",
                "social_insurance",
                "court",
                "administrative",
            ],
        },
        "regions": [],
        "industries": ["C", "I", "M"],
    },
    {
        "data": {
            "code": "tax-e-loan",
            "name": "银税e贷",
            "name_en": "Bank-Tax e-Loan",
            "description_en": "Credit line based on the tax credit grade and the tax "
            "paid; draw and repay at any time.",
            "product_type": "tax_based",
            "guarantee_type": "none",
            "amount_min": Decimal("50000"),
            "amount_max": Decimal("1000000"),
            "term_min": 1,
            "term_max": 12,
            "rate_min": Decimal("3.85"),
            "rate_max": Decimal("6.50"),
            "repayment_method": "flexible",
            "min_tax_credit_grade": "B",
            "min_years_in_business": Decimal("1"),
            "pure_credit": True,
            "fully_online": True,
            "fast_approval": True,
            "response_days": 1,
            "description": "依据纳税信用等级和纳税额授信，随借随还。",
            "required_categories": ["tax"],
        },
        "regions": [],
        "industries": [],
    },
    {
        "data": {
            "code": "ip-pledge",
            "name": "知识产权质押贷",
            "name_en": "IP Pledge Loan",
            "description_en": "Secured by pledged patents and trademarks; covered by "
            "the city's risk-compensation pool.",
            "product_type": "ip_pledge",
            "guarantee_type": "pledge",
            "amount_min": Decimal("500000"),
            "amount_max": Decimal("10000000"),
            "term_min": 12,
            "term_max": 36,
            "rate_min": Decimal("3.65"),
            "rate_max": Decimal("5.20"),
            "repayment_method": "equal_principal",
            "risk_compensation": True,
            "government_guarantee": True,
            "response_days": 7,
            "description": "以专利、商标质押，纳入市风险补偿资金池。",
            "required_categories": ["intellectual_property", "tax"],
        },
        "regions": ["440305", "440306", "440309"],
        "industries": [],
    },
]


def seed(**options) -> list[str]:
    organization = Organization.objects.get(
        kind=OrganizationKind.LENDER, name=DEMO_ORGANIZATIONS[OrganizationKind.LENDER]
    )
    lender = Lender.objects.filter(
        organization=organization
    ).first() or services.lender_onboard(
        organization=organization,
        name=organization.name,
        short_name="示范银行",
        licence_number="B0000H244030001",
        head_office_address="深圳市福田区深南大道1号",
    )
    admin = organization.memberships.get(role=Role.ADMIN).user
    operator = platform_organization().memberships.get(role=Role.OPERATOR).user
    for spec in PRODUCTS:
        if LoanProduct.objects.filter(
            lender=lender, code=spec["data"]["code"]
        ).exists():
            continue
        product = services.product_create(
            lender=lender,
            actor=admin,
            data=spec["data"],
            regions=spec["regions"],
            industries=spec["industries"],
        )
        services.product_transition(product=product, action="submit", actor=admin)
        services.product_transition(product=product, action="approve", actor=operator)
    count = LoanProduct.objects.filter(lender=lender, status="listed").count()
    return [
        f"Demo bank {lender.short_name}: {count} listed products (supermarket at /products/)"
    ]
