"""Scoring enterprises with the champion model, and promoting models.

A model is loaded once per process (a worker scores many chunks with it). A score is
computed from the features of the records stored *as of* a date, under the
enterprise's scoring consent, and written once with its feature snapshot, exact
per-feature contributions and reasons; it is never rewritten.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from borrowers import selectors as borrower_selectors
from borrowers.exceptions import ConsentRequired
from borrowers.models import (
    AccessChannel,
    ConsentPurpose,
    CreditAuthorization,
    DataAccessLog,
    Enterprise,
)
from scoring.data import frames_from_database
from scoring.engine import Platt
from scoring.features import build_features
from scoring.models import CreditScore, ModelVersion
from scoring.reasons import reasons_for
from scoring.scale import PointsScale


class NoChampion(Exception):
    """No model has been promoted yet."""


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    booster: xgb.Booster
    platt: Platt
    scale: PointsScale
    feature_names: tuple[str, ...]


_cache: dict[int, LoadedModel] = {}
_lock = threading.Lock()


def load_model(version: ModelVersion) -> LoadedModel:
    """The model, read from storage once per process."""
    with _lock:
        loaded = _cache.get(version.pk)
        if loaded is None:
            with version.artifact.open("rb") as handle:
                raw = handle.read()
            booster = xgb.Booster(params={"nthread": settings.SCORING_NTHREAD})
            booster.load_model(bytearray(raw))
            loaded = LoadedModel(
                version=version,
                booster=booster,
                platt=Platt.from_dict(version.calibration),
                scale=PointsScale.from_dict(version.scale),
                feature_names=tuple(f["name"] for f in version.features),
            )
            _cache[version.pk] = loaded
        return loaded


def champion() -> ModelVersion:
    version = ModelVersion.objects.filter(is_champion=True).first()
    if version is None:
        raise NoChampion(
            "No model has been promoted: run `manage.py train_model --promote`."
        )
    return version


@dataclass
class Scored:
    margin: np.ndarray
    pd: np.ndarray
    score: np.ndarray
    grade: np.ndarray
    contributions: np.ndarray  # rows × (features + bias)


def score_matrix(model: LoadedModel, matrix: np.ndarray) -> Scored:
    """Score a feature matrix (columns in the model's feature order)."""
    dmatrix = xgb.DMatrix(
        matrix,
        feature_names=list(model.feature_names),
        nthread=settings.SCORING_NTHREAD,
    )
    margin = model.booster.predict(dmatrix, output_margin=True).astype(np.float64)
    contributions = model.booster.predict(dmatrix, pred_contribs=True)
    pd_values = model.platt.pd(margin)
    scores = model.scale.score(pd_values)
    return Scored(margin, pd_values, scores, model.scale.grade(scores), contributions)


def _snapshot(row: pd.Series) -> dict[str, float | None]:
    return {
        name: (None if math.isnan(value) else float(value))
        for name, value in row.items()
    }


def snapshot_matrix(snapshots: Sequence[dict], names: Sequence[str]) -> np.ndarray:
    return np.array(
        [[np.nan if s.get(n) is None else s[n] for n in names] for s in snapshots],
        dtype=np.float64,
    )


def _scoring_authorizations(
    enterprise_ids: Sequence[int],
) -> dict[int, CreditAuthorization]:
    """The scoring consent in force for each enterprise that has one."""
    found: dict[int, CreditAuthorization] = {}
    for authorization in (
        borrower_selectors.active_authorizations(enterprise_ids=list(enterprise_ids))
        .filter(
            grantee=borrower_selectors.platform_organization(),
            purpose=ConsentPurpose.SCORING,
        )
        .order_by("enterprise_id", "-granted_at", "-pk")
    ):
        found.setdefault(authorization.enterprise_id, authorization)
    return found


def score_enterprises(
    *,
    enterprise_ids: Sequence[int],
    model: ModelVersion | None = None,
    as_of: dt.date | None = None,
    requested_by: User | None = None,
) -> list[CreditScore]:
    """Score enterprises under their scoring consent; those without one are skipped.

    Reading the stored records for scoring is a read of the SME's data by the platform:
    one access-log row per category the consent covers.
    """
    version = model or champion()
    loaded = load_model(version)
    as_of = as_of or timezone.localdate()
    authorizations = _scoring_authorizations(enterprise_ids)
    ids = sorted(authorizations)
    if not ids:
        return []
    frames = frames_from_database(ids)
    features = build_features(
        frames, pd.Series(pd.Timestamp(as_of), index=pd.Index(ids, name="enterprise"))
    )
    features = features[list(loaded.feature_names)]
    scored = score_matrix(loaded, features.to_numpy(dtype=np.float64))
    rows, logs = _score_rows(
        ids=ids,
        version=version,
        features=features,
        scored=scored,
        loaded=loaded,
        as_of=as_of,
        authorizations=authorizations,
        requested_by=requested_by,
    )
    return _write_scores(rows, logs)


def _score_rows(
    *,
    ids: list[int],
    version: ModelVersion,
    features: pd.DataFrame,
    scored: Scored,
    loaded: LoadedModel,
    as_of: dt.date,
    authorizations: dict[int, CreditAuthorization],
    requested_by: User | None,
) -> tuple[list[CreditScore], list[DataAccessLog]]:
    names = list(loaded.feature_names)
    rows, logs = [], []
    request_id = uuid.uuid4().hex
    for position, enterprise_id in enumerate(ids):
        values = _snapshot(features.iloc[position])
        contributions = {
            name: float(c)
            for name, c in zip(names, scored.contributions[position][:-1], strict=True)
        }
        contributions["bias"] = float(scored.contributions[position][-1])
        rows.append(
            CreditScore(
                enterprise_id=enterprise_id,
                model_version=version,
                as_of=as_of,
                score=float(scored.score[position]),
                pd=float(scored.pd[position]),
                margin=float(scored.margin[position]),
                grade=str(scored.grade[position]),
                features=values,
                contributions=contributions,
                reasons=reasons_for(values, contributions),
                requested_by=requested_by,
            )
        )
        authorization = authorizations[enterprise_id]
        logs.extend(
            DataAccessLog(
                enterprise_id=enterprise_id,
                organization_id=authorization.grantee_id,
                category=category,
                purpose=authorization.purpose,
                authorization=authorization,
                channel=AccessChannel.SCORING,
                request_id=request_id,
            )
            for category in sorted(authorization.scope)
        )
    return rows, logs


def _write_scores(
    rows: list[CreditScore], logs: list[DataAccessLog]
) -> list[CreditScore]:
    with transaction.atomic():
        created = CreditScore.objects.bulk_create(rows, batch_size=1000)
        DataAccessLog.objects.bulk_create(logs, batch_size=2000)
    return created


def enterprise_score(
    *,
    enterprise: Enterprise,
    requested_by: User | None = None,
    as_of: dt.date | None = None,
) -> CreditScore:
    """Score one enterprise now (online)."""
    scores = score_enterprises(
        enterprise_ids=[enterprise.pk], as_of=as_of, requested_by=requested_by
    )
    if not scores:
        raise ConsentRequired(
            "The enterprise has not authorized the platform to score it."
        )
    return scores[0]


def rescore(score: CreditScore) -> Scored:
    """Score a stored feature snapshot again with its own model version."""
    loaded = load_model(score.model_version)
    return score_matrix(loaded, snapshot_matrix([score.features], loaded.feature_names))


@transaction.atomic
def model_promote(*, model: ModelVersion, promoted_by: User | None) -> ModelVersion:
    """Make ``model`` the champion; the previous champion steps down. Old scores stay."""
    ModelVersion.objects.select_for_update().filter(is_champion=True).exclude(
        pk=model.pk
    ).update(is_champion=False)
    locked = ModelVersion.objects.select_for_update().get(pk=model.pk)
    locked.is_champion = True
    locked.promoted_by = promoted_by
    locked.promoted_at = timezone.now()
    locked.save(
        update_fields=["is_champion", "promoted_by", "promoted_at", "updated_at"]
    )
    return locked
