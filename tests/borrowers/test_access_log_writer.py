"""The access log is written only through ``borrowers.services``: with its two
writers replaced by recorders, every flow that reads an SME's data calls them the
exact number of times, and not one row reaches the table by another path."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.selectors import platform_organization
from borrowers import services as borrower_services
from borrowers.models import AccessChannel, DataAccessLog
from core.codes import Category
from creditdata import services as creditdata_services
from creditdata.synthetic import synthetic_uscc
from scoring import services as scoring_services
from tests.factories import MembershipFactory, activate_totp
from tests.factories.borrowers import enterprise_with_owner, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def writers():
    """Both access-log writers, recording their calls and writing nothing."""
    with (
        mock.patch.object(borrower_services, "access_log_record") as one,
        mock.patch.object(
            borrower_services,
            "access_logs_append",
            side_effect=lambda *, reads: len(reads),
        ) as many,
    ):
        yield one, many


def test_a_pull_and_its_feature_refresh_log_through_the_service_only(
    writers, django_capture_on_commit_callbacks
):
    one, many = writers
    enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(21))
    grant(enterprise, owner)
    with django_capture_on_commit_callbacks(execute=True):
        creditdata_services.ingestion_request(enterprise=enterprise, requested_by=owner)
    # The pull: one call per category read, each for this enterprise.
    assert one.call_count == len(Category.values)
    assert sorted(call.kwargs["category"] for call in one.call_args_list) == sorted(
        Category.values
    )
    assert {call.kwargs["channel"] for call in one.call_args_list} == {
        AccessChannel.INGESTION
    }
    # The feature refresh after it: one bulk call with one read per category.
    assert many.call_count == 1
    reads = many.call_args.kwargs["reads"]
    assert sorted(read.category for read in reads) == sorted(Category.values)
    assert {(read.enterprise_id, read.channel) for read in reads} == {
        (enterprise.pk, AccessChannel.SCORING)
    }
    assert DataAccessLog.objects.count() == 0


def test_features_refresh_of_many_enterprises_is_one_bulk_call(writers):
    one, many = writers
    enterprises = []
    for index in (31, 32, 33):
        enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(index))
        grant(enterprise, owner, categories=["tax", "court"])
        enterprises.append(enterprise)
    scoring_services.features_refresh(
        enterprise_ids=[enterprise.pk for enterprise in enterprises]
    )
    assert one.call_count == 0
    assert many.call_count == 1
    assert sorted(
        (read.enterprise_id, read.category) for read in many.call_args.kwargs["reads"]
    ) == sorted(
        (enterprise.pk, category)
        for enterprise in enterprises
        for category in ("court", "tax")
    )
    assert DataAccessLog.objects.count() == 0


def test_an_operator_reading_records_logs_through_the_service_only(writers, client):
    one, many = writers
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["tax"])
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    response = client.get(
        reverse("creditdata:operator_records", args=[enterprise.pk, "tax"])
    )
    assert response.status_code == 200
    assert one.call_count == 1
    assert one.call_args.kwargs["category"] == "tax"
    assert one.call_args.kwargs["actor"] == operator
    assert many.call_count == 0
    assert DataAccessLog.objects.count() == 0


def test_the_bulk_writer_appends_exactly_the_reads_it_is_given():
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner, categories=["tax", "court"])
    reads = [
        borrower_services.AccessRead(
            enterprise_id=enterprise.pk,
            organization_id=authorization.grantee_id,
            category=category,
            purpose=authorization.purpose,
            authorization_id=authorization.pk,
            channel=AccessChannel.SCORING,
            request_id="r" * 80,
        )
        for category in ("court", "tax")
    ]
    assert borrower_services.access_logs_append(reads=reads) == 2
    assert sorted(
        DataAccessLog.objects.values_list(
            "enterprise", "organization", "category", "channel", "request_id", "actor"
        )
    ) == [
        (enterprise.pk, authorization.grantee_id, "court", "scoring", "r" * 64, None),
        (enterprise.pk, authorization.grantee_id, "tax", "scoring", "r" * 64, None),
    ]
