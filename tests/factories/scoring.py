"""A stored score without training a model: a champion ``ModelVersion`` row over the
current feature set, a ``FeatureVector`` with the values a test chooses, and the
``CreditScore`` made "from" them. For tests of what is done *with* a score (matching,
applying, the bank's review); the scoring tests train real models."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

import numpy as np
from django.utils import timezone

from borrowers.models import Enterprise
from scoring.features import FEATURE_SET, FEATURES, FEATURES_REVISION
from scoring.models import CreditScore, FeatureSet, FeatureVector, ModelVersion


def champion_version(version: str = "test-champion") -> ModelVersion:
    existing = ModelVersion.objects.filter(version=version).first()
    if existing is not None:
        return existing
    ModelVersion.objects.filter(is_champion=True).update(is_champion=False)
    return ModelVersion.objects.create(
        version=version,
        kind="platform",
        artifact="models/none.ubj",
        artifact_sha256="0" * 64,
        features=[{"name": feature.name} for feature in FEATURES],
        monotone_constraints=[],
        calibration={},
        scale={},
        training_data_sha256="0" * 64,
        metrics={},
        is_champion=True,
        promoted_at=timezone.now(),
    )


def stored_score(
    enterprise: Enterprise,
    *,
    grade: str = "B",
    score: float = 640.0,
    pd: float = 0.04,
    features: Mapping[str, float | None] | None = None,
    reasons: list[dict] | None = None,
    model: ModelVersion | None = None,
    as_of: dt.date | None = None,
) -> CreditScore:
    """A score of ``enterprise`` with the given grade, values and reason codes
    (``reasons`` as ``CreditScore.reasons`` stores them: factor, feature,
    contribution); every feature not given is missing (NaN)."""
    model = model or champion_version()
    feature_set, _created = FeatureSet.objects.get_or_create(
        key=FEATURE_SET,
        defaults={
            "names": [feature.name for feature in FEATURES],
            "revision": FEATURES_REVISION,
        },
    )
    given = dict(features or {})
    values = np.array(
        [
            math.nan if given.get(name) is None else float(given[name])
            for name in feature_set.names
        ],
        dtype="<f8",
    )
    vector = FeatureVector.objects.create(
        enterprise=enterprise,
        feature_set=feature_set,
        as_of=as_of or timezone.localdate(),
        values=values.tobytes(),
    )
    names = [feature["name"] for feature in model.features]
    return CreditScore.objects.create(
        enterprise=enterprise,
        model_version=model,
        as_of=vector.as_of,
        score=score,
        pd=pd,
        margin=math.log(pd / (1 - pd)),
        grade=grade,
        feature_vector=vector,
        contribution_values=np.zeros(len(names) + 1, dtype="<f4").tobytes(),
        reasons=reasons or [],
    )
