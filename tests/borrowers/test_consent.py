"""Consent: granted from a read notice, immutable, at most 12 months, revocable."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import Membership, OrganizationKind, Role
from borrowers import selectors, services
from borrowers.exceptions import (
    AccessLogAppendOnly,
    AuthorizationImmutable,
    InvalidConsent,
    NotEnterpriseOwner,
)
from borrowers.models import (
    ConsentNotice,
    ConsentPurpose,
    CreditAuthorization,
    DataAccessLog,
)
from core.codes import Category
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.factories.borrowers import enterprise_with_owner, grant

pytestmark = pytest.mark.django_db


def test_grant_stores_the_notice_text_and_its_fingerprint():
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner, categories=["tax", "court"], months=6)
    assert authorization.scope == ["court", "tax"]
    assert authorization.notice.version == "2026-01"
    assert enterprise.name in authorization.notice_text
    assert enterprise.uscc in authorization.notice_text
    assert "信易贷平台运营中心" in authorization.notice_text
    assert "授权查询的数据类别：司法判决与执行、纳税\n" in authorization.notice_text
    assert "授权用途：信用评分与产品匹配\n" in authorization.notice_text
    import hashlib

    assert (
        authorization.notice_sha256
        == hashlib.sha256(authorization.notice_text.encode()).hexdigest()
    )
    assert (
        authorization.valid_to.month
        == (authorization.valid_from.month + 6 - 1) % 12 + 1
    )
    assert (
        selectors.authorization_for_read(
            enterprise=enterprise, organization=authorization.grantee, category="tax"
        )
        == authorization
    )
    assert (
        selectors.authorization_for_read(
            enterprise=enterprise,
            organization=authorization.grantee,
            category="customs",
        )
        is None
    )


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"months": 13}, "months", "A consent is valid for 1 to 12 months."),
        ({"months": 0}, "months", "A consent is valid for 1 to 12 months."),
        ({"categories": []}, "categories", "Choose at least one data category."),
        ({"categories": ["tax", "horoscope"]}, "categories", "Unknown data category."),
        ({"purpose": ConsentPurpose.LOAN_REVIEW}, "grantee", None),
    ],
)
def test_invalid_consent_is_refused_and_nothing_is_stored(kwargs, field, message):
    from django.utils import translation

    enterprise, owner = enterprise_with_owner()
    with translation.override("en"), pytest.raises(InvalidConsent) as raised:
        grant(enterprise, owner, **kwargs)
    assert raised.value.field == field
    if message:
        assert raised.value.message == message
    assert CreditAuthorization.objects.count() == 0


def test_only_an_owner_may_grant():
    enterprise, _owner = enterprise_with_owner()
    member = UserFactory()
    Membership.objects.create(
        user=member, organization=enterprise.organization, role=Role.MEMBER
    )
    with pytest.raises(NotEnterpriseOwner):
        grant(enterprise, member)
    assert CreditAuthorization.objects.count() == 0


def test_a_notice_read_before_it_changed_is_not_granted():
    enterprise, owner = enterprise_with_owner()
    with pytest.raises(InvalidConsent) as raised:
        services.authorization_grant(
            enterprise=enterprise,
            grantee=account_selectors.platform_organization(),
            purpose=ConsentPurpose.SCORING,
            categories=["tax"],
            months=12,
            granted_by=owner,
            language="zh-hans",
            notice_sha256="0" * 64,
        )
    assert raised.value.field == "notice_sha256"
    assert CreditAuthorization.objects.count() == 0


def test_granted_consent_is_immutable_and_undeletable():
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner)
    authorization.scope = ["tax"]
    with pytest.raises(AuthorizationImmutable):
        authorization.save()
    with pytest.raises(AuthorizationImmutable):
        authorization.delete()
    authorization.refresh_from_db()
    assert len(authorization.scope) == 12


def test_revocation_takes_effect_on_the_next_read_and_notifies_the_grantee(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner()
    lender = OrganizationFactory(kind=OrganizationKind.LENDER, name="示范银行")
    admin = MembershipFactory(organization=lender, role=Role.ADMIN).user
    MembershipFactory(organization=lender, role=Role.REVIEWER)
    authorization = grant(
        enterprise, owner, grantee=lender, purpose=ConsentPurpose.POST_LOAN_MONITORING
    )
    assert (
        selectors.authorization_for_read(
            enterprise=enterprise, organization=lender, category="tax"
        )
        == authorization
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.authorization_revoke(
            authorization=authorization, revoked_by=owner, reason="贷款已结清"
        )

    assert (
        selectors.authorization_for_read(
            enterprise=enterprise, organization=lender, category="tax"
        )
        is None
    )
    authorization.refresh_from_db()
    assert authorization.revoke_reason == "贷款已结清"
    assert authorization.revoked_by == owner
    assert [m.to for m in mail.outbox] == [[admin.email]]
    assert enterprise.name in mail.outbox[0].subject


def test_revoking_twice_changes_nothing_the_second_time(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner)
    services.authorization_revoke(authorization=authorization, revoked_by=owner)
    authorization.refresh_from_db()
    first = authorization.revoked_at
    services.authorization_revoke(
        authorization=authorization, revoked_by=owner, reason="x"
    )
    authorization.refresh_from_db()
    assert (authorization.revoked_at, authorization.revoke_reason) == (first, "")


def test_a_new_notice_version_requires_fresh_consent():
    enterprise, owner = enterprise_with_owner()
    old = grant(enterprise, owner)
    ConsentNotice.objects.create(
        version="2026-02",
        template_zh="新版 {version} {enterprise} {uscc} {grantee} {purpose} {categories} {valid_from} {valid_to} {retention_days}",
        template_en="v {version} {enterprise} {uscc} {grantee} {purpose} {categories} {valid_from} {valid_to} {retention_days}",
        published_at=timezone.now(),
    )
    assert (
        selectors.authorization_for_read(
            enterprise=enterprise, organization=old.grantee, category="tax"
        )
        is None
    )
    renewed = grant(enterprise, owner)
    assert renewed.notice.version == "2026-02"
    assert (
        selectors.authorization_for_read(
            enterprise=enterprise, organization=old.grantee, category="tax"
        )
        == renewed
    )


def test_expired_consent_does_not_allow_reads():
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner, months=1)
    later = authorization.valid_to + dt.timedelta(seconds=1)
    assert (
        selectors.authorization_for_read(
            enterprise=enterprise,
            organization=authorization.grantee,
            category="tax",
            at=later,
        )
        is None
    )


def test_access_log_is_append_only():
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner)
    entry = services.access_log_record(
        enterprise=enterprise,
        authorization=authorization,
        organization=authorization.grantee,
        category=Category.TAX,
        channel="web",
        request_id="req-1",
    )
    entry.request_id = "forged"
    with pytest.raises(AccessLogAppendOnly):
        entry.save()
    with pytest.raises(AccessLogAppendOnly):
        entry.delete()
    with pytest.raises(AccessLogAppendOnly):
        DataAccessLog.objects.filter(pk=entry.pk).update(request_id="forged")
    with pytest.raises(AccessLogAppendOnly):
        DataAccessLog.objects.all().delete()
    assert list(DataAccessLog.objects.values_list("request_id", flat=True)) == ["req-1"]


def test_access_log_refuses_raw_sql_rewrites_on_postgresql(postgres):
    from django.db import DatabaseError, connection, transaction

    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner)
    services.access_log_record(
        enterprise=enterprise,
        authorization=authorization,
        organization=authorization.grantee,
        category=Category.TAX,
        channel="web",
        request_id="req-raw",
    )
    for statement in (
        "UPDATE borrowers_dataaccesslog SET request_id = 'forged'",
        "DELETE FROM borrowers_dataaccesslog",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert list(DataAccessLog.objects.values_list("request_id", flat=True)) == [
        "req-raw"
    ]
