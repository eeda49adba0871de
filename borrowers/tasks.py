"""Background jobs of the borrowers app. Each takes primary keys and calls one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from accounts.models import MANAGING_ROLES
from borrowers.models import CreditAuthorization
from core import jobs, mail


@shared_task(
    name="borrowers.tasks.notify_grantee_of_revocation",
    **jobs.EMAIL_TASK_OPTIONS,
)
def notify_grantee_of_revocation(authorization_pk: int) -> int:
    """Tell the grantee's managers that a consent was revoked; returns emails sent.

    A failure of the mail server is retried by Celery with exponential backoff and
    full jitter, at most five times.
    """
    authorization = (
        CreditAuthorization.objects.select_related("enterprise", "grantee")
        .filter(pk=authorization_pk, revoked_at__isnull=False)
        .first()
    )
    if authorization is None:
        return 0
    managers = authorization.grantee.memberships.filter(
        role__in=MANAGING_ROLES
    ).values_list("user__email", "user__preferred_language")
    # Each manager reads it in the language they chose, or in both (Chinese first)
    # if they chose none: one email per set of languages.
    every_language = tuple(code for code, _name in settings.LANGUAGES)
    by_languages: dict[tuple[str, ...], list[str]] = {}
    for email, preferred in sorted(managers):
        languages = (preferred,) if preferred in every_language else every_language
        by_languages.setdefault(languages, []).append(email)
    for languages, recipients in by_languages.items():
        context = {
            "authorization": authorization,
            "sections": [
                {"language": code, "platform": settings.PLATFORM_NAME[code]}
                for code in languages
            ],
        }
        send_mail(
            subject=render_to_string(
                "borrowers/email/revocation_subject.txt", context
            ).strip(),
            message=render_to_string("borrowers/email/revocation_message.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            connection=mail.delivery_connection(),
            recipient_list=recipients,
        )
    return sum(len(recipients) for recipients in by_languages.values())
