"""The cross-app flows, called as the entry points call them: each step in order,
all or nothing, the next step started as a job after commit."""

from __future__ import annotations

from unittest import mock

import pytest

from accounts.exceptions import AccountsError
from accounts.models import Invitation, Organization, OrganizationKind, Role
from accounts.selectors import platform_organization
from borrowers.models import ConsentPurpose, CreditAuthorization
from borrowers.notices import current_notice
from creditdata.exceptions import EventReplayed
from creditdata.models import IngestionRun, IngestionStatus, ProviderWebhookEvent
from lenders.models import Lender
from tests.factories import MembershipFactory, OrganizationFactory
from tests.factories.borrowers import enterprise_with_owner, grant
from workflows import credit_data, onboarding, provider_events

pytestmark = pytest.mark.django_db


def _operator():
    return MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user


def test_lender_onboarding_keeps_nothing_when_the_invitation_is_refused():
    operator = _operator()
    with (
        mock.patch(
            "accounts.services.invitation_create",
            side_effect=AccountsError("refused", field="admin_email"),
        ),
        pytest.raises(AccountsError),
    ):
        onboarding.lender_onboard(
            name="深圳示范银行",
            short_name="示范",
            licence_number="",
            head_office_address="",
            admin_email="boss@bank.example",
            invited_by=operator,
        )
    assert Lender.objects.count() == 0
    assert Organization.objects.filter(kind=OrganizationKind.LENDER).count() == 0
    assert Invitation.objects.count() == 0


def test_organization_onboarding_invites_the_kinds_first_role(
    django_capture_on_commit_callbacks,
):
    operator = _operator()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        organization = onboarding.organization_onboard(
            kind=OrganizationKind.PROMOTION_OFFICE,
            name="市信用促进办",
            admin_email="Editor@Office.example",
            invited_by=operator,
        )
    invitation = Invitation.objects.get()
    assert (invitation.organization, invitation.email, invitation.role) == (
        organization,
        "editor@office.example",
        Role.EDITOR,
    )
    assert len(callbacks) == 1  # the invitation email, after commit


def _grant_data(enterprise, owner, grantee):
    notice = current_notice()
    assert notice is not None
    return {
        "enterprise": enterprise,
        "grantee": grantee,
        "purpose": ConsentPurpose.SCORING
        if grantee.kind == OrganizationKind.PLATFORM
        else ConsentPurpose.POST_LOAN_MONITORING,
        "categories": ["tax", "court"],
        "months": 12,
        "retention_days": 365,
        "granted_by": owner,
        "language": "zh-hans",
        "notice_sha256": None,
    }


def test_a_consent_to_the_platform_queues_its_first_pull_in_the_same_transaction(
    django_capture_on_commit_callbacks,
):
    enterprise, owner = enterprise_with_owner()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        granted = credit_data.consent_grant(
            **_grant_data(enterprise, owner, platform_organization())
        )
    assert granted.run is not None
    assert (granted.run.authorization, granted.run.status, granted.run.categories) == (
        granted.authorization,
        IngestionStatus.PENDING,
        ["court", "tax"],
    )
    assert len(callbacks) == 1  # the pull, after commit


def test_a_consent_to_a_bank_starts_no_pull(django_capture_on_commit_callbacks):
    enterprise, owner = enterprise_with_owner()
    bank = OrganizationFactory(kind=OrganizationKind.LENDER)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        granted = credit_data.consent_grant(**_grant_data(enterprise, owner, bank))
    assert granted.run is None
    assert IngestionRun.objects.count() == 0
    assert callbacks == []


def test_a_refused_pull_request_undoes_the_grant():
    enterprise, owner = enterprise_with_owner()
    with (
        mock.patch(
            "creditdata.services.ingestion_request", side_effect=RuntimeError("down")
        ),
        pytest.raises(RuntimeError),
    ):
        credit_data.consent_grant(
            **_grant_data(enterprise, owner, platform_organization())
        )
    assert CreditAuthorization.objects.count() == 0


def test_revoking_cancels_the_waiting_pulls(django_capture_on_commit_callbacks):
    enterprise, owner = enterprise_with_owner()
    authorization = grant(enterprise, owner)
    waiting = IngestionRun.objects.create(
        enterprise=enterprise, authorization=authorization, categories=["tax"]
    )
    with django_capture_on_commit_callbacks(execute=False):
        credit_data.consent_revoke(authorization=authorization, revoked_by=owner)
    waiting.refresh_from_db()
    assert waiting.status == IngestionStatus.CANCELLED
    assert waiting.error == "已取消：授权已被撤回。"  # stored in the default language


def test_a_provider_event_is_kept_once_and_a_replay_changes_nothing(
    django_capture_on_commit_callbacks,
):
    import datetime as dt

    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["tax"])
    arguments = {
        "event_id": "evt_1",
        "event_type": "records.updated",
        "payload": {"id": "evt_1"},
        "signed_at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        "uscc": enterprise.uscc,
        "category": "tax",
    }
    with django_capture_on_commit_callbacks(execute=False):
        event = provider_events.provider_event_receive(**arguments)
    assert event.runs_started == 1
    assert IngestionRun.objects.get().categories == ["tax"]
    with pytest.raises(EventReplayed):
        provider_events.provider_event_receive(**arguments)
    assert ProviderWebhookEvent.objects.count() == 1
    assert IngestionRun.objects.count() == 1


def test_a_pull_succeeds_only_together_with_its_follow_up_job(
    django_capture_on_commit_callbacks,
):
    """A worker lost between "run succeeded" and "follow-up queued" (here: the
    follow-up's enqueue fails) leaves the run unfinished, so its redelivery does
    both; never a succeeded run without its feature refresh."""
    from core.models import OutboxJob
    from creditdata import services as creditdata_services
    from creditdata.synthetic import synthetic_uscc

    enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(45))
    grant(enterprise, owner, categories=["tax"])
    with django_capture_on_commit_callbacks(execute=False):
        run = creditdata_services.ingestion_request(
            enterprise=enterprise, requested_by=owner
        )
    with (
        mock.patch.object(
            credit_data, "_score_after", side_effect=RuntimeError("killed")
        ),
        pytest.raises(RuntimeError),
    ):
        credit_data.pull_execute(run_pk=run.pk)
    run.refresh_from_db()
    assert run.status == IngestionStatus.RUNNING  # not succeeded: redelivered later
    assert not OutboxJob.objects.filter(task="scoring.tasks.refresh_and_score").exists()
    with django_capture_on_commit_callbacks(execute=False):
        credit_data.pull_execute(run_pk=run.pk)  # the redelivery
    run.refresh_from_db()
    assert (run.status, run.attempts) == (IngestionStatus.SUCCEEDED, 2)
    follow_up = OutboxJob.objects.get(task="scoring.tasks.refresh_and_score")
    assert follow_up.args[0] == enterprise.pk
