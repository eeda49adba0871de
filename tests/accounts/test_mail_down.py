"""Mail down: signup and password reset answer normally while the SMTP server is
unreachable (a real refused connection, not a mock); the message waits in the outbox
and is sent once the server is back.

The web process is not eager here, as in production: the broker is the boundary that
is mocked (its publish recorded), and the job is then run as a worker runs it.
"""

from __future__ import annotations

import datetime as dt
import socket
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from config.celery import app
from core import jobs
from core.models import OutboxJob, OutboxStatus
from core.tasks import send_email
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "Correct-Horse-42-battery"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_down(settings):
    """Mail goes through the outbox to an SMTP server that refuses connections."""
    settings.EMAIL_BACKEND = "core.mail.OutboxEmailBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 2
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    with mock.patch.object(send_email, "apply_async") as publish:
        yield publish
    app.conf.task_always_eager = previous


def _run_as_a_worker(job: OutboxJob):
    send_email.push_request(
        id=f"job-{job.pk}",
        args=job.args,
        kwargs=job.kwargs,
        retries=job.retries,
        called_directly=False,
        outbox_job=job.pk,
    )
    try:
        return send_email(*job.args, **job.kwargs)
    finally:
        send_email.pop_request()


def _smtp_back_then_deliver(settings, smtp_down, retry: OutboxJob) -> None:
    """The server is back; the retry falls due, the sweeper hands it to the broker
    and a worker runs it."""
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboxJob.objects.filter(pk=retry.pk).update(
        created_at=retry.created_at - dt.timedelta(hours=1),
        available_at=timezone.now() - dt.timedelta(seconds=1),
    )
    assert jobs.outbox_sweep(grace_seconds=0, stuck_seconds=3600) == 1
    assert smtp_down.call_args.kwargs["headers"] == {"outbox_job": retry.pk}
    retry.refresh_from_db()
    assert _run_as_a_worker(retry) == 1


def _queued_then_refused(smtp_down, to: str) -> OutboxJob:
    job = OutboxJob.objects.get(task="core.tasks.send_email")
    assert job.args[0]["to"] == [to]
    assert smtp_down.call_count == 1  # handed to the broker after commit
    assert mail.outbox == []
    # The worker tries: the server refuses; the retry waits in the outbox.
    with pytest.raises(Exception) as raised:
        _run_as_a_worker(job)
    assert type(raised.value).__name__ == "Retry"
    retry = OutboxJob.objects.exclude(pk=job.pk).get()
    assert (retry.task, retry.args, retry.retries, retry.status) == (
        "core.tasks.send_email",
        job.args,
        1,
        OutboxStatus.PENDING,
    )
    assert retry.available_at > timezone.now()
    assert mail.outbox == []
    return retry


def test_signup_answers_normally_while_smtp_is_down_and_the_mail_follows(
    client, settings, smtp_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {
                "email": "new-owner@example.com",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new-owner@example.com")
    assert not EmailAddress.objects.get(user=user).verified
    retry = _queued_then_refused(smtp_down, "new-owner@example.com")

    _smtp_back_then_deliver(settings, smtp_down, retry)
    [message] = mail.outbox
    assert message.to == ["new-owner@example.com"]
    assert "confirm-email" in message.body


def test_password_reset_answers_normally_while_smtp_is_down_and_the_mail_follows(
    client, settings, smtp_down, django_capture_on_commit_callbacks
):
    UserFactory(email="owner@example.com")  # verified, as after signup
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_reset_password"), {"email": "owner@example.com"}
        )
    assert response.status_code == 302
    retry = _queued_then_refused(smtp_down, "owner@example.com")

    _smtp_back_then_deliver(settings, smtp_down, retry)
    [message] = mail.outbox
    assert message.to == ["owner@example.com"]
    assert "/password/reset/key/" in message.body


def test_a_message_survives_the_round_trip_through_a_job():
    from django.core.mail import EmailMultiAlternatives

    from core.mail import message_to_payload, payload_to_message

    original = EmailMultiAlternatives(
        subject="[信易贷 Xinyidai] 请确认邮箱",
        body="正文 text",
        from_email="noreply@xinyidai.local",
        to=["a@example.com"],
        cc=["b@example.com"],
        bcc=["c@example.com"],
        reply_to=["d@example.com"],
        headers={"X-Request-Id": "r-1"},
    )
    original.attach_alternative("<p>正文</p>", "text/html")
    copy = payload_to_message(message_to_payload(original))
    for attribute in ("subject", "body", "from_email", "to", "cc", "bcc", "reply_to"):
        assert getattr(copy, attribute) == getattr(original, attribute), attribute
    assert copy.extra_headers == {"X-Request-Id": "r-1"}
    assert copy.alternatives[0][:2] == ("<p>正文</p>", "text/html")
