"""A demo application in the demo bank's queue (see ``manage.py seed_demo``): the demo
enterprise applied for one of the bank's products, so the bank's reviewer finds work
waiting and the SME finds an application to follow. The SME can still apply for the
bank's other products in the demo."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import Role
from borrowers import services as borrower_services
from borrowers.models import ConsentPurpose, Enterprise
from borrowers.seed import DEMO_USCC
from lenders.models import LoanProduct, ProductStatus
from marketplace import selectors, services
from marketplace.models import Application
from scoring.selectors import latest_score

DEMO_PRODUCT_CODE = "tax-e-loan"


def seed(**options) -> list[str]:
    enterprise = Enterprise.objects.get(uscc=DEMO_USCC)
    existing = Application.objects.filter(enterprise=enterprise).first()
    if existing is not None:
        return [f"Demo application {existing.reference} already exists"]
    products = LoanProduct.objects.filter(status=ProductStatus.LISTED).select_related(
        "lender__organization"
    )
    product = (
        products.filter(code=DEMO_PRODUCT_CODE).first()
        or products.order_by("lender", "code").first()
    )
    score = latest_score(enterprise_pk=enterprise.pk)
    if product is None or score is None:
        return ["No demo application: no listed product or no score"]
    owner = enterprise.organization.memberships.get(role=Role.OWNER).user
    authorization = borrower_services.authorization_grant(
        enterprise=enterprise,
        grantee=product.lender.organization,
        purpose=ConsentPurpose.LOAN_REVIEW,
        categories=selectors.application_categories(product=product),
        months=selectors.APPLICATION_CONSENT_MONTHS,
        granted_by=owner,
        language="zh-hans",
    )
    amount = max(product.amount_min, min(product.amount_max, Decimal("800000.00")))
    application = services.application_submit(
        enterprise=enterprise,
        product=product,
        amount=amount,
        term=max(product.term_min, min(product.term_max, 12)),
        purpose="采购原材料、支付供应商货款",
        idempotency_key="demo-seed",
        submitted_by=owner,
        authorization=authorization,
        score=score,
    )
    return [
        f"Demo application {application.reference}: {enterprise.name} → "
        f"{product.lender.short_name} {product.name} (in the bank's queue)"
    ]
