"""The ``in_ids`` lookup: ``IN`` for long id lists, one array parameter on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization, OrganizationKind


@pytest.mark.django_db
def test_in_ids_matches_in_and_sends_one_parameter_on_postgresql():
    organizations = Organization.objects.bulk_create(
        Organization(kind=OrganizationKind.ENTERPRISE, name=f"企业{i}")
        for i in range(5)
    )
    wanted = [organizations[1].pk, organizations[3].pk, 10**12]
    with CaptureQueriesContext(connection) as queries:
        found = sorted(
            Organization.objects.filter(pk__in_ids=wanted).values_list("pk", flat=True)
        )
    assert found == sorted(
        Organization.objects.filter(pk__in=wanted).values_list("pk", flat=True)
    )
    assert found == [organizations[1].pk, organizations[3].pk]
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"]
    assert list(Organization.objects.filter(pk__in_ids=[])) == []
