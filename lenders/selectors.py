"""Reads about lenders and products."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import OrganizationKind, User
from accounts.selectors import user_memberships
from lenders import lifecycle
from lenders.models import Lender, LoanProduct


def lender_for_user(*, user: User) -> Lender | None:
    for membership in user_memberships(user=user):
        if membership.organization.kind == OrganizationKind.LENDER:
            return Lender.objects.filter(organization=membership.organization).first()
    return None


@dataclass(frozen=True)
class ProductRow:
    """A product on its bank's list, with what the viewer may do to it now."""

    product: LoanProduct
    #: The transitions the viewer's role may take from the product's status.
    actions: list[lifecycle.Transition]
    #: Whether its terms may be edited in its status (by the bank's administrators).
    editable: bool


def bank_product_rows(*, lender: Lender, role: str | None) -> list[ProductRow]:
    """The lender's products by status and code, each with the actions the lifecycle
    table allows ``role`` (``lifecycle.allowed_transitions``; none for ``None``)."""
    products = LoanProduct.objects.filter(lender=lender).order_by("status", "code")
    return [
        ProductRow(
            product=product,
            actions=lifecycle.allowed_transitions(product.status, role),
            editable=product.status in lifecycle.EDITABLE,
        )
        for product in products
    ]
