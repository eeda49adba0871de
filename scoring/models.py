"""The model registry and the scores it produced.

A ``ModelVersion`` holds everything needed to reproduce and audit a model: the xgboost
artifact (``.ubj``), its features and monotone constraints, the Platt calibration, the
points scale, a hash of its training data, its validation metrics and report, and who
promoted it when. Exactly one version is the champion. A ``CreditScore`` keeps its
model version, feature snapshot (a ``FeatureVector``) and reasons forever: promoting a
new model scores new rows and never rewrites old ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from borrowers.models import Enterprise
from core.models import TimeStampedModel


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


class FeatureSet(models.Model):
    """The feature list a stored vector was computed with (``features.FEATURE_SET``
    names it), so every vector can be read back by name whatever the code is now."""

    key = models.CharField(
        pgettext_lazy("feature set", "key"), max_length=16, primary_key=True
    )
    names = models.JSONField(_("feature names"))
    revision = models.PositiveIntegerField(pgettext_lazy("feature set", "revision"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("feature set")
        verbose_name_plural = _("feature sets")

    def __str__(self) -> str:
        return f"{self.key} ({len(self.names)})"


class FeatureVector(models.Model):
    """An enterprise's features as of a date, computed once from its stored records and
    kept forever (never updated): the feature snapshot of every score made from it.

    It is computed after each successful pull of the enterprise's data, as of the day of
    the pull, or when scoring finds none; scoring then reads one row per enterprise
    instead of its ~180 records. ``values`` holds one float64 per name of the feature
    set (little-endian, NaN where a feature has no value).
    """

    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="feature_vectors",
        verbose_name=_("enterprise"),
    )
    feature_set = models.ForeignKey(
        FeatureSet,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("feature set"),
    )
    as_of = models.DateField(_("as of"))
    values = models.BinaryField(_("feature values"))
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("feature vector")
        verbose_name_plural = _("feature vectors")
        ordering = ["-as_of", "-computed_at", "-pk"]
        indexes = [
            models.Index(
                fields=["enterprise", "feature_set", "-as_of", "-computed_at"],
                name="scoring_fv_latest",
            )
        ]
        constraints = [
            # What a score's (feature_vector, enterprise) foreign key refers to.
            models.UniqueConstraint(
                fields=["id", "enterprise"], name="scoring_fv_id_enterprise"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} @ {self.as_of}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("A feature vector is kept as computed; compute a new one.")
        super().save(*args, **kwargs)

    def array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.values), dtype="<f8")

    def as_dict(self, names: Sequence[str] | None = None) -> dict[str, float | None]:
        """Values by feature name (``None`` where missing), of ``names`` or all."""
        position = {name: i for i, name in enumerate(self.feature_set.names)}
        values = self.array().tolist()
        return {
            name: _none_for_nan(values[position[name]]) if name in position else None
            for name in (names if names is not None else self.feature_set.names)
        }


def _none_for_nan(value: float) -> float | None:
    return None if value != value else value


class CreditScore(models.Model):
    """One score of one enterprise by one model version, as of a date. Never updated."""

    # The indexes are the two the pages read by (an enterprise's scores, newest
    # first; a model's scores since a date, for drift): batch scoring writes every
    # index once per row, so the foreign keys' own single-column ones are left out.
    #
    # ``enterprise`` and ``feature_vector`` are checked together, on PostgreSQL, by
    # one foreign key (feature_vector_id, enterprise_id) → the vector's (id,
    # enterprise_id) (migration 0004): the snapshot exists and is of this
    # enterprise, whose existence the vector's own foreign key ensures. One check
    # per row instead of two, and the stronger one.
    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="credit_scores",
        verbose_name=_("enterprise"),
        db_index=False,
        db_constraint=False,
    )
    model_version = models.ForeignKey(
        ModelVersion,
        on_delete=models.PROTECT,
        related_name="scores",
        verbose_name=_("model version"),
        db_index=False,
    )
    as_of = models.DateField(_("as of"))
    score = models.FloatField(_("score"))
    pd = models.FloatField(_("probability of default (12 months)"))
    margin = models.FloatField(_("raw log-odds"))
    grade = models.CharField(_("grade"), max_length=1)
    feature_vector = models.ForeignKey(
        FeatureVector,
        on_delete=models.PROTECT,
        related_name="scores",
        verbose_name=_("feature snapshot"),
        db_index=False,  # vectors are never deleted, nor scores looked up by vector
        db_constraint=False,  # the (feature_vector, enterprise) key above
    )
    contribution_values = models.BinaryField(
        _("contribution per feature"),
        help_text=_(
            "xgboost's exact contributions (float32, little-endian) in the model's "
            "feature order, then the bias."
        ),
    )
    reasons = models.JSONField(
        _("reasons"),
        help_text=_(
            "The factors that lower the score most, largest first: factor, its most "
            "adverse feature and its contribution (sentences: explained_reasons)."
        ),
    )
    requested_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
        db_index=False,  # partial index below: batch scores have no requester
    )
    created_at = models.DateTimeField(_("scored at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit score")
        verbose_name_plural = _("credit scores")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["enterprise", "-created_at"]),
            models.Index(
                fields=["model_version", "created_at"], name="scoring_score_model_time"
            ),
            models.Index(
                fields=["requested_by"],
                condition=models.Q(requested_by__isnull=False),
                name="scoring_score_requester",
            ),
        ]
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

    @property
    def feature_names(self) -> list[str]:
        return [feature["name"] for feature in self.model_version.features]

    @property
    def features(self) -> dict[str, float | None]:
        """The model's inputs of this score, by name (``None`` where missing)."""
        return self.feature_vector.as_dict(self.feature_names)

    @property
    def explained_reasons(self) -> list[dict]:
        """The stored reason codes with their sentences in both languages."""
        from scoring.reasons import explain

        return explain(self.reasons, self.features)

    @property
    def contributions(self) -> dict[str, float]:
        """Each feature's contribution to the log-odds, and ``"bias"``."""
        values = np.frombuffer(bytes(self.contribution_values), dtype="<f4").tolist()
        return dict(zip([*self.feature_names, "bias"], values, strict=True))
