"""The loan-product lifecycle: the single table of allowed transitions.

Each action names where it may start, where it ends and who may take it. Services
check it under a row lock; nothing else changes a product's status.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from lenders.models import ProductStatus, RevisionStatus

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

#: Statuses in which the lender may edit the product's terms. A draft or delisted
#: product's edits apply at once (it goes through review before it is listed); a
#: listed product's become a pending revision, but for the exempt fields below.
EDITABLE = frozenset(
    {ProductStatus.DRAFT, ProductStatus.LISTED, ProductStatus.DELISTED}
)

#: Fields of a listed product that change at once, without the platform's review.
#: They are presentation only: texts that restate the reviewed terms for the reader
#: and carry no term, price or eligibility rule of their own. Everything else (the
#: name, amounts, terms, rates, repayment, guarantee, regions, industries,
#: eligibility rules, tags, policy flags, response time) is reviewed: an SME relies
#: on it, filters on it, or it is a claim ("pure credit") the platform vouches for.
#: docs/api.md lists the same fields for integrators.
REVIEW_EXEMPT_FIELDS: frozenset[str] = frozenset(
    {"description", "name_en", "description_en"}
)


@dataclass(frozen=True)
class RevisionDecision:
    """What the platform may do with a pending change to a listed product."""

    action: str
    target: str
    label: str | Promise
    needs_comment: bool = False
    button: str = "outline-secondary"


#: Only operators decide on revisions (``OPERATOR``); the bank proposes them by
#: editing the product, and withdraws one by editing the terms back or delisting.
REVISION_DECISIONS: dict[str, RevisionDecision] = {
    d.action: d
    for d in (
        RevisionDecision(
            "approve",
            RevisionStatus.APPROVED,
            _("Approve the change"),
            button="success",
        ),
        RevisionDecision(
            "return",
            RevisionStatus.RETURNED,
            _("Return the change"),
            needs_comment=True,
            button="outline-danger",
        ),
    )
}
REVISION_DECIDERS = frozenset({OPERATOR})


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
