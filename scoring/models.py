"""The model registry and the scores it produced.

A ``ModelVersion`` holds everything needed to reproduce and audit a model: the xgboost
artifact (``.ubj``), its features and monotone constraints, the Platt calibration, the
points scale, a hash of its training data, its validation metrics and report, and who
promoted it when. Exactly one version is the champion. A ``CreditScore`` keeps its
model version, feature snapshot and reasons forever: promoting a new model scores new
rows and never rewrites old ones.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import TimeStampedModel, User
from borrowers.models import Enterprise


class ModelKind(models.TextChoices):
    PLATFORM = "platform", _("Platform model (public credit data)")
    TABULAR = "tabular", _("Generic tabular model")


class ModelVersion(TimeStampedModel):
    version = models.CharField(_("version"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ModelKind.choices)
    artifact = models.FileField(_("xgboost artifact (.ubj)"), upload_to="models/")
    artifact_sha256 = models.CharField(_("artifact SHA-256"), max_length=64)
    features = models.JSONField(_("features"))
    monotone_constraints = models.JSONField(_("monotone constraints"))
    calibration = models.JSONField(_("calibration"))
    scale = models.JSONField(_("points scale"))
    training_data_sha256 = models.CharField(_("training data SHA-256"), max_length=64)
    training_summary = models.JSONField(_("training summary"), default=dict)
    metrics = models.JSONField(_("validation metrics"))
    report = models.FileField(_("model report"), upload_to="models/", blank=True)
    is_champion = models.BooleanField(_("champion"), default=False)
    promoted_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("promoted by"),
    )
    promoted_at = models.DateTimeField(_("promoted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_champion"],
                condition=models.Q(is_champion=True),
                name="scoring_one_champion",
            ),
        ]

    def __str__(self) -> str:
        return self.version


class CreditScore(models.Model):
    """One score of one enterprise by one model version, as of a date. Never updated."""

    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="credit_scores",
        verbose_name=_("enterprise"),
    )
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="scores",
        verbose_name=_("model version"),
    )
    as_of = models.DateField(_("as of"))
    score = models.FloatField(_("score"))
    pd = models.FloatField(_("probability of default (12 months)"))
    margin = models.FloatField(_("raw log-odds"))
    grade = models.CharField(_("grade"), max_length=1)
    features = models.JSONField(_("feature snapshot"))
    contributions = models.JSONField(_("contribution per feature"))
    reasons = models.JSONField(_("reasons"))
    requested_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("scored at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("credit score")
        verbose_name_plural = _("credit scores")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["enterprise", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pd__gte=0) & models.Q(pd__lte=1),
                name="scoring_pd_range",
            ),
            models.CheckConstraint(
                condition=models.Q(grade__in=["A", "B", "C", "D"]),
                name="scoring_grade_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} {self.score:.0f} ({self.grade})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("A credit score is kept as computed; score again instead.")
        super().save(*args, **kwargs)
