"""The provider says an enterprise's records changed: pull that category again.

    verified event (view) ──▶ event kept, replay refused (creditdata) ──▶ enterprise
    by USCC (borrowers) ──▶ pull of the category under the platform's consent
    (creditdata) ──job──▶ the credit-data flow from "pull executed" on

The event row and the pull request commit together: a replayed event starts nothing,
and an event without a consent in force is kept (with no pull) so its retry is a
replay, not a second chance to read data the SME did not consent to.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from borrowers import selectors as borrower_selectors
from borrowers.exceptions import ConsentRequired
from creditdata import services as creditdata_services
from creditdata.models import ProviderWebhookEvent

logger = logging.getLogger(__name__)


@transaction.atomic
def provider_event_receive(
    *,
    event_id: str,
    event_type: str,
    payload: dict,
    signed_at: dt.datetime,
    uscc: str,
    category: str,
) -> ProviderWebhookEvent:
    """Record a verified ``records.updated`` / ``record.repaired`` event and re-pull
    its category; raises ``EventReplayed`` for an event id seen before."""
    event = creditdata_services.provider_event_record(
        event_id=event_id, event_type=event_type, payload=payload, signed_at=signed_at
    )
    enterprise = borrower_selectors.enterprise_by_uscc(uscc=uscc)
    started = 0
    if enterprise is not None:
        try:
            creditdata_services.ingestion_request(
                enterprise=enterprise, requested_by=None, categories=[category]
            )
            started = 1
        except ConsentRequired:
            logger.info("webhook %s: no consent for %s %s", event_id, uscc, category)
    creditdata_services.provider_event_mark(event=event, runs_started=started)
    return event
