"""The loan-product lifecycle: the single table of allowed transitions.

Each action names where it may start, where it ends and who may take it. Services
check it under a row lock; nothing else changes a product's status.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from lenders.models import ProductStatus

LENDER_ADMIN = "lender_admin"
OPERATOR = "operator"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    actors: frozenset[str]
    label: str | Promise
    needs_comment: bool = False
    #: The Bootstrap button variant the portals draw the action with.
    button: str = "outline-secondary"


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(
            "submit",
            frozenset({ProductStatus.DRAFT, ProductStatus.DELISTED}),
            ProductStatus.PENDING_REVIEW,
            frozenset({LENDER_ADMIN}),
            _("Submit for review"),
            button="outline-primary",
        ),
        Transition(
            "withdraw",
            frozenset({ProductStatus.PENDING_REVIEW}),
            ProductStatus.DRAFT,
            frozenset({LENDER_ADMIN}),
            _("Withdraw"),
        ),
        Transition(
            "approve",
            frozenset({ProductStatus.PENDING_REVIEW}),
            ProductStatus.LISTED,
            frozenset({OPERATOR}),
            _("Approve and list"),
            button="success",
        ),
        Transition(
            "return",
            frozenset({ProductStatus.PENDING_REVIEW}),
            ProductStatus.DRAFT,
            frozenset({OPERATOR}),
            _("Return"),
            needs_comment=True,
            button="outline-danger",
        ),
        Transition(
            "delist",
            frozenset({ProductStatus.LISTED}),
            ProductStatus.DELISTED,
            frozenset({LENDER_ADMIN, OPERATOR}),
            _("Delist"),
            button="outline-danger",
        ),
    )
}

#: Statuses in which the lender may edit the product's terms.
EDITABLE = frozenset(
    {ProductStatus.DRAFT, ProductStatus.LISTED, ProductStatus.DELISTED}
)


def allowed_actions(status: str, actor: str | None) -> list[str]:
    """The actions ``actor`` may take on a product in ``status``, in table order."""
    return [
        t.action
        for t in TRANSITIONS.values()
        if status in t.sources and actor in t.actors
    ]


def allowed_transitions(status: str, actor: str | None) -> list[Transition]:
    """``allowed_actions`` with their transitions (label, comment, button)."""
    return [TRANSITIONS[action] for action in allowed_actions(status, actor)]
