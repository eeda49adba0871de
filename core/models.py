"""Abstract bases every app's models share, and the outbox's own tables."""

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
    #: The retries already made of this task (Celery's ``request.retries``): a retry
    #: is a new outbox job that carries its count on.
    retries = models.PositiveSmallIntegerField(_("retries"), default=0)
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


class JobCompletion(models.Model):
    """Proof that an outbox job of a ``once`` task did its work: written in the same
    transaction as that work, so a message delivered again (a worker killed after
    committing, before acknowledging) finds it and does nothing; two deliveries
    running at once cannot both commit (the primary key)."""

    job = models.OneToOneField(
        OutboxJob,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="completion",
        verbose_name=_("job"),
    )
    completed_at = models.DateTimeField(_("completed at"), default=timezone.now)

    class Meta:
        verbose_name = _("job completion")
        verbose_name_plural = _("job completions")

    def __str__(self) -> str:
        return f"job #{self.job_id} done at {self.completed_at:%Y-%m-%d %H:%M:%S}"
