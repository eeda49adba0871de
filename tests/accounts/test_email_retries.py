"""Emails sent by tasks are retried by Celery when the mail server fails, only then."""

from __future__ import annotations

import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.core.mail import send_mail as real_send_mail

from accounts import services
from accounts.models import OrganizationKind, Role
from accounts.tasks import send_invitation_email
from borrowers import services as borrower_services
from borrowers.models import ConsentPurpose
from borrowers.tasks import notify_grantee_of_revocation
from tests.factories import MembershipFactory, OrganizationFactory
from tests.factories.borrowers import enterprise_with_owner, grant

pytestmark = pytest.mark.django_db
EMAIL_TASKS = [send_invitation_email, notify_grantee_of_revocation]


@pytest.fixture(autouse=True)
def task_failures(eager_task_retries):
    """Retries run eagerly; a test that expects no failure asserts so itself."""
    return eager_task_retries


def _flaky(*errors: BaseException):
    """A ``send_mail`` that raises ``errors`` in turn, then sends for real."""
    pending = list(errors)

    def send_mail(*args, **kwargs):
        if pending:
            raise pending.pop(0)
        return real_send_mail(*args, **kwargs)

    return mock.Mock(side_effect=send_mail)


def _invite(capture):
    organization = OrganizationFactory(kind=OrganizationKind.LENDER)
    with capture(execute=True):
        return services.invitation_create(
            organization=organization,
            email="new-reviewer@example.com",
            role=Role.REVIEWER,
            invited_by=None,
        )


def _revoke(capture):
    enterprise, owner = enterprise_with_owner()
    lender = OrganizationFactory(kind=OrganizationKind.LENDER)
    admin = MembershipFactory(organization=lender, role=Role.ADMIN).user
    authorization = grant(
        enterprise, owner, grantee=lender, purpose=ConsentPurpose.POST_LOAN_MONITORING
    )
    with capture(execute=True):
        borrower_services.authorization_revoke(
            authorization=authorization, revoked_by=owner
        )
    return admin


def test_an_invitation_is_sent_once_after_two_disconnects(
    django_capture_on_commit_callbacks, task_failures
):
    flaky = _flaky(
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    )
    with (
        mock.patch("accounts.tasks.send_mail", flaky),
        mock.patch.object(
            send_invitation_email, "retry", wraps=send_invitation_email.retry
        ) as retry,
    ):
        _invite(django_capture_on_commit_callbacks)
    assert flaky.call_count == 3
    assert [m.to for m in mail.outbox] == [["new-reviewer@example.com"]]
    assert task_failures == []
    # Celery's backoff: a jittered countdown, never above retry_backoff_max.
    assert retry.call_count == 2
    assert all(0 <= c.kwargs["countdown"] <= 600 for c in retry.call_args_list)


def test_an_invitation_error_that_is_not_the_mail_servers_is_not_retried(
    django_capture_on_commit_callbacks, task_failures
):
    broken = mock.Mock(side_effect=ValueError("bad header"))
    with mock.patch("accounts.tasks.send_mail", broken):
        _invite(django_capture_on_commit_callbacks)
    assert broken.call_count == 1
    assert mail.outbox == []
    assert [type(error) for error in task_failures] == [ValueError]


def test_an_invitation_gives_up_after_five_retries(
    django_capture_on_commit_callbacks, task_failures
):
    down = mock.Mock(side_effect=smtplib.SMTPConnectError(421, "try later"))
    with mock.patch("accounts.tasks.send_mail", down):
        _invite(django_capture_on_commit_callbacks)
    assert down.call_count == 6  # the first try and max_retries=5
    assert mail.outbox == []
    assert [type(error) for error in task_failures] == [smtplib.SMTPConnectError]


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
    ],
    ids=["smtp", "connection", "timeout"],
)
def test_a_revocation_notice_is_sent_once_after_mail_server_failures(
    django_capture_on_commit_callbacks, task_failures, error
):
    flaky = _flaky(error, error)
    with mock.patch("borrowers.tasks.send_mail", flaky):
        admin = _revoke(django_capture_on_commit_callbacks)
    assert flaky.call_count == 3
    assert [m.to for m in mail.outbox] == [[admin.email]]
    assert task_failures == []


def test_a_revocation_notice_error_that_is_not_the_mail_servers_is_not_retried(
    django_capture_on_commit_callbacks, task_failures
):
    broken = mock.Mock(side_effect=ValueError("bad header"))
    with mock.patch("borrowers.tasks.send_mail", broken):
        _revoke(django_capture_on_commit_callbacks)
    assert broken.call_count == 1
    assert mail.outbox == []
    assert [type(error) for error in task_failures] == [ValueError]


@pytest.mark.parametrize("task", EMAIL_TASKS, ids=lambda task: task.name)
def test_email_tasks_declare_their_retry_policy(task):
    assert set(task.autoretry_for) == {
        smtplib.SMTPException,
        ConnectionError,
        TimeoutError,
    }
    assert set(task.dont_autoretry_for) == {
        smtplib.SMTPRecipientsRefused,
        smtplib.SMTPSenderRefused,
    }
    assert (task.max_retries, task.retry_backoff, task.retry_jitter) == (5, 30, True)
    assert task.retry_backoff_max == 1800
    assert task.acks_late and task.reject_on_worker_lost
    assert task.soft_time_limit < task.time_limit


def test_a_recipient_the_server_refuses_is_not_retried(
    django_capture_on_commit_callbacks, task_failures
):
    refused = mock.Mock(
        side_effect=smtplib.SMTPRecipientsRefused(
            {"new-reviewer@example.com": (550, b"no such user")}
        )
    )
    with mock.patch("accounts.tasks.send_mail", refused):
        _invite(django_capture_on_commit_callbacks)
    assert refused.call_count == 1
    assert mail.outbox == []
    assert [type(error) for error in task_failures] == [smtplib.SMTPRecipientsRefused]
