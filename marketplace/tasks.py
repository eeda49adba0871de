"""Background jobs of the marketplace. Each takes primary keys and calls one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from core import jobs, mail
from core.urls import site_url
from marketplace import notifications, services
from marketplace.models import Notification


@shared_task(name="marketplace.tasks.email_notifications", **jobs.EMAIL_TASK_OPTIONS)
def email_notifications(event_pk: int) -> int:
    """Email each recipient of an event's inbox items once, in their language.

    Idempotent by state: only items not yet emailed are sent, and each is marked
    right after its email left, so a retry after a mail-server failure sends the
    rest and never repeats one."""
    pending = list(
        Notification.objects.filter(event_id=event_pk, emailed_at__isnull=True)
        .select_related(
            "recipient",
            "event__application__enterprise",
            "event__application__lender__organization",
            "event__application__product",
        )
        .order_by("pk")
    )
    sent = 0
    for item in pending:
        language = item.recipient.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language):
            application = item.event.application
            context = {
                "sentence": notifications.event_sentence(item.event),
                "application": application,
                "platform": settings.PLATFORM_NAME.get(language)
                or settings.PLATFORM_NAME[settings.LANGUAGE_CODE],
                "link": site_url(
                    reverse("marketplace:notification_open", args=[item.pk])
                ),
            }
            send_mail(
                subject=render_to_string(
                    "marketplace/email/event_subject.txt", context
                ).strip(),
                message=render_to_string(
                    "marketplace/email/event_message.txt", context
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                connection=mail.delivery_connection(),
                recipient_list=[item.recipient.email],
            )
        services.notification_mark_emailed(pks=[item.pk])
        sent += 1
    return sent
