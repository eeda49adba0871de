"""Email leaves through the outbox, so that a mail server that is down never fails
the request that sends it (signup, password reset, anything allauth or Django sends).

``EMAIL_BACKEND`` is ``OutboxEmailBackend``: ``send_messages`` writes each message as
a ``core.tasks.send_email`` job in the current transaction (``core.jobs.enqueue``)
and returns at once. The job hands the message to the real backend,
``EMAIL_DELIVERY_BACKEND`` (SMTP in production), and is retried with backoff while
that fails (``core.jobs.EMAIL_TASK_OPTIONS``), each retry waiting in the outbox. Tasks
that build their own emails (invitations, consent notices) already run on a worker
and send through ``delivery_connection`` directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction


def delivery_connection(**kwargs: Any) -> BaseEmailBackend:
    """A connection of the backend that really sends (``EMAIL_DELIVERY_BACKEND``)."""
    return get_connection(settings.EMAIL_DELIVERY_BACKEND, **kwargs)


def message_to_payload(message: EmailMessage) -> dict[str, Any]:
    """What a job needs to rebuild ``message``: JSON only. Attachments are refused:
    nothing the platform sends through this backend has one, and a file does not
    belong in a job's arguments."""
    if message.attachments:
        raise ValueError("the outbox email backend does not carry attachments")
    alternatives = [
        [content, mimetype]
        for content, mimetype in getattr(message, "alternatives", [])
        if isinstance(content, str)
    ]
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": {
            str(key): str(value) for key, value in message.extra_headers.items()
        },
        "alternatives": alternatives,
        "content_subtype": message.content_subtype,
    }


def payload_to_message(payload: dict[str, Any]) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload["from_email"],
        to=payload["to"],
        cc=payload["cc"],
        bcc=payload["bcc"],
        reply_to=payload["reply_to"],
        headers=payload["headers"],
        alternatives=[tuple(pair) for pair in payload["alternatives"]],
    )
    message.content_subtype = payload["content_subtype"]
    return message


class OutboxEmailBackend(BaseEmailBackend):
    """Queue every message as a job; the job sends it (see the module's docstring)."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from core import jobs
        from core.tasks import send_email

        messages = [m for m in email_messages if m.recipients()]
        payloads = [message_to_payload(message) for message in messages]
        with transaction.atomic():
            for payload in payloads:
                jobs.enqueue(send_email, payload)
        return len(payloads)
