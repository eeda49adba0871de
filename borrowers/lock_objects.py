"""Row locks on borrowers' records, taken the same way at every call site.

The consent row is the lock that orders a revocation against a pull's write (both
lock it, ``creditdata.services`` and ``borrowers.services``), so it is taken here only.
Verification changes lock the enterprise row first, then the attempt's row: always in
that order, so two of them can never deadlock.
"""

from __future__ import annotations

from borrowers.models import CreditAuthorization, Enterprise, EnterpriseVerification


def authorization_lock(*, authorization_pk: int) -> CreditAuthorization:
    """Lock one consent row (``SELECT … FOR UPDATE``) and return it as stored now."""
    return CreditAuthorization.objects.select_for_update().get(pk=authorization_pk)


def enterprise_lock(*, enterprise_pk: int) -> Enterprise:
    """Lock one enterprise row and return it as stored now."""
    return Enterprise.objects.select_for_update().get(pk=enterprise_pk)


def verification_lock(*, verification_pk: int) -> EnterpriseVerification:
    """Lock one verification attempt (after its enterprise), without the letter bytes."""
    return (
        EnterpriseVerification.objects.select_for_update()
        .defer("letter_content")
        .get(pk=verification_pk)
    )
