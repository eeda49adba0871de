"""Keeping stored feature vectors current: after every successful pull of an
enterprise's data its features are computed again, as of that day."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from creditdata.signals import data_pulled


@receiver(data_pulled, dispatch_uid="scoring.refresh_features_after_pull")
def refresh_features_after_pull(sender, run, **kwargs) -> None:
    from scoring.tasks import refresh_features

    enterprise_id, as_of = run.enterprise_id, timezone.localdate().isoformat()
    transaction.on_commit(lambda: refresh_features.delay([enterprise_id], as_of))
