"""Background jobs of the accounts app. Each takes primary keys and calls one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts import services
from accounts.models import Invitation, User
from core import jobs, mail
from core.urls import site_url


@shared_task(
    name="accounts.tasks.send_invitation_email",
    **jobs.EMAIL_TASK_OPTIONS,
)
def send_invitation_email(invitation_pk: int) -> bool:
    """Email an invitation. Idempotent: a closed invitation is not sent.

    A failure of the mail server is retried by Celery with exponential backoff and
    full jitter, at most five times.
    """
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(pk=invitation_pk)
        .first()
    )
    if invitation is None or not invitation.is_open:
        return False
    # In the language the recipient chose if they have an account, else in both
    # (Chinese first): the invitee may not have chosen one yet.
    known = User.objects.filter(email__iexact=invitation.email).first()
    languages = (
        [known.preferred_language]
        if known is not None and known.preferred_language in dict(settings.LANGUAGES)
        else [code for code, _name in settings.LANGUAGES]
    )
    sections = []
    for language in languages:
        with translation.override(language):
            sections.append(
                {
                    "language": language,
                    "signup_url": site_url(reverse("account_signup")),
                    "platform": settings.PLATFORM_NAME[language],
                    "inviter": invitation.invited_by.email
                    if invitation.invited_by
                    else settings.PLATFORM_NAME[language],
                }
            )
    context = {"invitation": invitation, "sections": sections}
    send_mail(
        subject=render_to_string(
            "account/email/invitation_subject.txt", context
        ).strip(),
        message=render_to_string("account/email/invitation_message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        connection=mail.delivery_connection(),
        recipient_list=[invitation.email],
    )
    return True


@shared_task(
    name="accounts.tasks.purge_expired_invitations", **jobs.task_options(seconds=5 * 60)
)
def purge_expired_invitations() -> int:
    return services.invitations_purge_expired()
