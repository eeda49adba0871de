"""Row locks on marketplace records, taken the same way at every call site.

An application's row is locked first, then (when a transition ends the review) its
consent's row: always in that order, so two transitions never deadlock."""

from __future__ import annotations

from marketplace.models import Application


def application_lock(*, application_pk: int) -> Application:
    """Lock one application row (``SELECT … FOR UPDATE``) and return it as stored now."""
    return Application.objects.select_for_update().get(pk=application_pk)
