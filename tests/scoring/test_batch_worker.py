"""Batch scoring in chunks on a real Celery worker (PostgreSQL in CI)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Organization, OrganizationKind
from accounts.selectors import platform_organization
from borrowers.models import (
    ConsentPurpose,
    CreditAuthorization,
    Enterprise,
    sha256_text,
)
from borrowers.notices import current_notice
from scoring import services
from scoring.models import CreditScore
from scoring.tasks import batch_score
from scoring.training import register_model
from tests.factories import UserFactory
from tests.factories.borrowers import uscc_for
from tests.workers import celery_worker

pytestmark = pytest.mark.django_db(transaction=True)


def _enterprises_with_consent(count: int) -> list[int]:
    owner = UserFactory()
    organizations = Organization.objects.bulk_create(
        Organization(kind=OrganizationKind.ENTERPRISE, name=f"批量企业{i}")
        for i in range(count)
    )
    enterprises = Enterprise.objects.bulk_create(
        Enterprise(
            organization=organization,
            uscc=uscc_for(50_000 + i),
            name=organization.name,
            legal_representative="王五",
            registered_capital=Decimal("1000000"),
            founded_on=dt.date(2019, 1, 1),
            industry="F",
            district="440304",
            employees=10,
        )
        for i, organization in enumerate(organizations)
    )
    notice, now, platform = (
        current_notice(),
        timezone.now(),
        platform_organization(),
    )
    CreditAuthorization.objects.bulk_create(
        CreditAuthorization(
            enterprise=enterprise,
            grantee=platform,
            purpose=ConsentPurpose.SCORING,
            scope=["tax"],
            retention_days=180,
            notice=notice,
            notice_language="zh-hans",
            notice_text="批量授权",
            notice_sha256=sha256_text("批量授权"),
            granted_by=owner,
            granted_at=now,
            valid_from=now,
            valid_to=now + dt.timedelta(days=300),
        )
        for enterprise in enterprises
    )
    return [e.pk for e in enterprises]


def test_batch_scoring_runs_in_chunks_on_a_real_worker(postgres, small_models):
    model = services.model_promote(
        model=register_model(small_models[0]), promoted_by=None
    )
    ids = _enterprises_with_consent(2100)
    with pytest.raises(ValueError, match="between 1,000 and 10,000"):
        batch_score(ids, chunk_size=500)
    with celery_worker():
        result = batch_score(ids, chunk_size=1000)
        counts = result.get(timeout=300)
    assert counts == [1000, 1000, 100]
    assert CreditScore.objects.filter(model_version=model).count() == 2100
    assert set(CreditScore.objects.values_list("enterprise_id", flat=True)) == set(ids)
