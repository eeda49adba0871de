"""Row locks on accounts' records, taken the same way at every call site and, where
several rows are locked, in primary-key order (no two transactions wait on each other
in a cycle)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Invitation, Organization


def organization_lock(*, organization_pk: int) -> Organization | None:
    """Lock an organization row: invitations to it are then checked one at a time."""
    return Organization.objects.select_for_update().filter(pk=organization_pk).first()


def invitation_lock(*, invitation_pk: int) -> Invitation:
    return Invitation.objects.select_for_update().get(pk=invitation_pk)


def invitations_lock(invitations: QuerySet[Invitation]) -> list[Invitation]:
    """Lock these invitations, and their organizations, in primary-key order."""
    return list(
        invitations.select_for_update().select_related("organization").order_by("pk")
    )
