"""A bank's product goes through the platform's review before it is listed.

    bank submits (lenders) ──▶ operator approves or returns it with a comment
    (lenders, under a row lock, with a history row) ──▶ the approved terms become a
    new listed version ──job──▶ signed webhook to the bank (lenders)

The operator acts from the platform's side (accounts decides who is an operator), the
product and its webhook are the lender's: this module is where a later step of the
flow — the marketplace re-matching enterprises to a newly listed product — is called.
"""

from __future__ import annotations

from accounts.models import User
from lenders import services as lender_services
from lenders.models import LoanProduct


def product_review_decide(
    *, product: LoanProduct, action: str, actor: User, comment: str = ""
) -> LoanProduct:
    """Approve or return a product waiting for review (``action``: ``approve`` or
    ``return``); raises ``TransitionNotAllowed``/``NotPermitted`` otherwise."""
    return lender_services.product_transition(
        product=product, action=action, actor=actor, comment=comment
    )
