"""Row locks on borrowers' records, taken the same way at every call site.

The consent row is the lock that orders a revocation against a pull's write (both
lock it, ``creditdata.services`` and ``borrowers.services``), so it is taken here only.
"""

from __future__ import annotations

from borrowers.models import CreditAuthorization


def authorization_lock(*, authorization_pk: int) -> CreditAuthorization:
    """Lock one consent row (``SELECT … FOR UPDATE``) and return it as stored now."""
    return CreditAuthorization.objects.select_for_update().get(pk=authorization_pk)
