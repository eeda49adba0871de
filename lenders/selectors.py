"""Reads about lenders and products."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from accounts.models import OrganizationKind, User
from accounts.selectors import user_memberships
from lenders import lifecycle
from lenders.models import (
    Lender,
    LoanProduct,
    LoanProductRevision,
    ProductStatus,
    RevisionStatus,
)


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
    #: The change of its terms waiting for the platform, or the last one it
    #: returned (with its note); ``None`` once a later change was approved.
    revision: LoanProductRevision | None = None


def with_latest_revision(
    queryset: QuerySet[LoanProduct],
) -> QuerySet[LoanProduct]:
    """Products with their revisions, newest first, in one more query for all of
    them (``LoanProduct.latest_revision`` then reads it without querying)."""
    return queryset.prefetch_related(
        Prefetch(
            "revisions",
            queryset=LoanProductRevision.objects.order_by("-created_at", "-pk"),
            to_attr="revisions_newest_first",
        )
    )


def open_revision(product: LoanProduct) -> LoanProductRevision | None:
    """The revision the bank should see: pending, or returned and not yet followed
    by another; ``None`` when the latest one was approved or withdrawn."""
    revision = product.latest_revision
    if revision is not None and revision.status in (
        RevisionStatus.PENDING,
        RevisionStatus.RETURNED,
    ):
        return revision
    return None


def pending_revision(*, product: LoanProduct) -> LoanProductRevision | None:
    """The product's change waiting for review, if any."""
    return product.revisions.filter(status=RevisionStatus.PENDING).first()


def bank_product_rows(*, lender: Lender, role: str | None) -> list[ProductRow]:
    """The lender's products by status and code, each with the actions the lifecycle
    table allows ``role`` (``lifecycle.allowed_transitions``; none for ``None``)."""
    products = with_latest_revision(
        LoanProduct.objects.filter(lender=lender).order_by("status", "code")
    )
    return [
        ProductRow(
            product=product,
            actions=lifecycle.allowed_transitions(product.status, role),
            editable=product.status in lifecycle.EDITABLE,
            revision=open_revision(product)
            if product.status == ProductStatus.LISTED
            else None,
        )
        for product in products
    ]


def products_awaiting_review() -> QuerySet[LoanProduct]:
    """Products submitted for listing, oldest first, with what their cards show."""
    return (
        LoanProduct.objects.filter(status=ProductStatus.PENDING_REVIEW)
        .select_related("lender__organization")
        .prefetch_related("districts", "industries")
        .order_by("submitted_at", "pk")
    )


def revisions_awaiting_review() -> QuerySet[LoanProductRevision]:
    """Pending changes of listed products, oldest first, with their live products
    (whose places the diff compares against)."""
    return (
        LoanProductRevision.objects.filter(
            status=RevisionStatus.PENDING, product__status=ProductStatus.LISTED
        )
        .select_related("product__lender__organization", "proposed_by")
        .prefetch_related("product__districts", "product__industries")
        .order_by("created_at", "pk")
    )
