"""Abstract bases every app's models share (core owns no table)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """Creation and modification times, stored in UTC like every datetime here."""

    created_at = models.DateTimeField(
        _("created at"), default=timezone.now, editable=False
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent to the workers")


class OutboxJob(models.Model):
    """A background job the platform decided to run: written in the same transaction
    as the change that causes it, sent to the broker after commit, and sent again by
    the sweeper while the broker could not be reached (see ``core.jobs``)."""

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=OutboxStatus.choices,
        default=OutboxStatus.PENDING,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    #: Not before: a job with a countdown waits until then, also for the sweeper.
    available_at = models.DateTimeField(_("available at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    send_attempts = models.PositiveIntegerField(_("send attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")

    class Meta:
        verbose_name = _("outbox job")
        verbose_name_plural = _("outbox jobs")
        indexes = [
            models.Index(
                fields=["available_at"],
                name="core_outbox_pending",
                condition=models.Q(status="pending"),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="pending", sent_at__isnull=True)
                | models.Q(status="sent", sent_at__isnull=False),
                name="core_outbox_sent_at_iff_sent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk} ({self.status})"
