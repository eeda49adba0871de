"""Row locks on scoring's records, in one order so that two promotions never wait
on each other in a cycle."""

from __future__ import annotations

from django.db.models import Q

from scoring.models import ModelVersion


def model_versions_lock_for_promotion(*, model_pk: int) -> list[ModelVersion]:
    """Lock the model to promote and every current champion, in primary-key order."""
    return list(
        ModelVersion.objects.select_for_update()
        .filter(Q(pk=model_pk) | Q(is_champion=True))
        .order_by("pk")
    )
