"""The bank's webhook endpoint is saved through its service (the view only parses)."""

from __future__ import annotations

import pytest

from lenders.exceptions import NotPermitted
from lenders.models import WebhookEndpoint
from lenders.services import webhook_endpoint_save
from tests.factories.lenders import lender_with_staff

pytestmark = pytest.mark.django_db


def test_only_a_bank_admin_saves_its_webhook_endpoint():
    lender, admin, reviewer = lender_with_staff()
    with pytest.raises(NotPermitted):
        webhook_endpoint_save(
            lender=lender,
            url="https://bank.example/h",
            rotate_secret=False,
            actor=reviewer,
        )
    assert WebhookEndpoint.objects.count() == 0
    first = webhook_endpoint_save(
        lender=lender, url="https://bank.example/h", rotate_secret=False, actor=admin
    )
    first_secret = first.secret
    kept = webhook_endpoint_save(
        lender=lender, url="https://bank.example/h2", rotate_secret=False, actor=admin
    )
    # Read now: the endpoint returned by a save that kept the secret loads it lazily.
    kept_secret = kept.secret
    rotated = webhook_endpoint_save(
        lender=lender, url="https://bank.example/h2", rotate_secret=True, actor=admin
    )
    assert first.pk == kept.pk == rotated.pk
    assert kept_secret == first_secret != rotated.secret
    assert WebhookEndpoint.objects.get().url == "https://bank.example/h2"
