"""A bank's product goes through the platform's review before it is listed.

    bank submits (lenders) ──▶ operator approves or returns it with a comment
    (lenders, under a row lock, with a history row) ──▶ the approved terms become a
    new listed version ──job──▶ signed webhook to the bank (lenders)

A listed product's later change takes the same road as a revision: the bank's edit
becomes a pending ``LoanProductRevision`` (the public pages keep the listed terms),
the operator approves it (a new version) or returns it with a note.

The operator acts from the platform's side (accounts decides who is an operator), the
product and its webhook are the lender's: this module is where a later step of the
flow — the marketplace re-matching enterprises to a newly listed product — is called.
"""

from __future__ import annotations

from accounts.models import User
from lenders import services as lender_services
from lenders.models import LoanProduct, LoanProductRevision


def product_review_decide(
    *, product: LoanProduct, action: str, actor: User, comment: str = ""
) -> LoanProduct:
    """Approve or return a product waiting for review (``action``: ``approve`` or
    ``return``); raises ``TransitionNotAllowed``/``NotPermitted`` otherwise."""
    return lender_services.product_transition(
        product=product, action=action, actor=actor, comment=comment
    )


def product_revision_decide(
    *,
    revision: LoanProductRevision,
    action: str,
    actor: User,
    comment: str = "",
    expected_edits: int | None = None,
) -> LoanProductRevision:
    """Approve or return a listed product's pending change (``action``: ``approve``
    or ``return``, which needs ``comment``); ``expected_edits`` is the proposal the
    operator read. Raises ``TransitionNotAllowed``/``NotPermitted``/
    ``InvalidProduct`` (terms today's rules refuse) otherwise."""
    return lender_services.product_revision_decide(
        revision=revision,
        action=action,
        actor=actor,
        comment=comment,
        expected_edits=expected_edits,
    )
