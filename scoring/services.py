"""Scoring enterprises with the champion model, and promoting models.

A model is loaded once per process (a worker scores many chunks with it). An
enterprise's features are computed from its stored records *as of* a date, under its
scoring consent, and stored as a ``FeatureVector`` after each pull of its data; a
score is computed from that vector and written once, pointing to it as its feature
snapshot, with exact per-feature contributions and reasons; it is never rewritten.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import User
from borrowers import selectors as borrower_selectors
from borrowers import services as borrower_services
from borrowers.exceptions import ConsentRequired
from borrowers.models import (
    AccessChannel,
    ConsentPurpose,
    Enterprise,
)
from core.exceptions import TooSoon
from scoring import lock_objects
from scoring.data import frames_from_database
from scoring.engine import Platt
from scoring.exceptions import FeatureSetMismatch, NoChampion
from scoring.features import (
    FEATURE_NAMES,
    FEATURE_SET,
    FEATURES_REVISION,
    build_features,
)
from scoring.models import CreditScore, FeatureSet, FeatureVector, ModelVersion
from scoring.reasons import reason_codes_json_for_rows
from scoring.scale import PointsScale
from scoring.storage import storage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    booster: xgb.Booster
    platt: Platt
    scale: PointsScale
    feature_names: tuple[str, ...]
    #: xgboost threads of ``booster`` (``load_model`` sets both) and of the DMatrix.
    nthread: int = 1


_cache: dict[tuple, LoadedModel] = {}
_lock = threading.Lock()


def load_model(version: ModelVersion, *, nthread: int | None = None) -> LoadedModel:
    """The model, read from storage once per process and thread count.

    ``nthread``: xgboost's threads for this model's predictions, the batch setting
    ``SCORING_NTHREAD`` by default. Online scoring asks for
    ``SCORING_ONLINE_NTHREAD`` (1): for one row, more threads only wait on each
    other, and on a busy machine that wait dominates (docs/benchmarks.md, issue 12).
    A booster keeps its thread count, so each count has its own cached booster.
    """
    nthread = int(settings.SCORING_NTHREAD if nthread is None else nthread)
    feature_names = tuple(f["name"] for f in version.features)
    # The artifact's hash and the features in the key: a row never changes them, but
    # a test database may give a pk again to another model.
    key = (version.pk, version.artifact_sha256, feature_names, nthread)
    with _lock:
        loaded = _cache.get(key)
        if loaded is None:
            with version.artifact.open("rb") as handle:
                raw = handle.read()
            booster = xgb.Booster(params={"nthread": nthread})
            booster.load_model(bytearray(raw))
            loaded = LoadedModel(
                version=version,
                booster=booster,
                platt=Platt.from_dict(version.calibration),
                scale=PointsScale.from_dict(version.scale),
                feature_names=feature_names,
                nthread=nthread,
            )
            _cache[key] = loaded
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
    """Score a feature matrix (columns in the model's feature order), with the
    model's thread count."""
    dmatrix = xgb.DMatrix(
        matrix,
        feature_names=list(model.feature_names),
        nthread=model.nthread,
    )
    margin = model.booster.predict(dmatrix, output_margin=True).astype(np.float64)
    contributions = model.booster.predict(dmatrix, pred_contribs=True)
    pd_values = model.platt.pd(margin)
    scores = model.scale.score(pd_values)
    return Scored(margin, pd_values, scores, model.scale.grade(scores), contributions)


def snapshot_matrix(snapshots: Sequence[dict], names: Sequence[str]) -> np.ndarray:
    return np.array(
        [[np.nan if s.get(n) is None else s[n] for n in names] for s in snapshots],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class _Consent:
    """What scoring needs of a consent in force (its columns, not a model instance:
    building 5,000 instances costs more than the query)."""

    pk: int
    enterprise_id: int
    grantee_id: int
    purpose: str
    scope: list[str]


def _scoring_authorizations(enterprise_ids: Sequence[int]) -> dict[int, _Consent]:
    """The scoring consent in force for each enterprise that has one."""
    found: dict[int, _Consent] = {}
    for pk, enterprise_id, grantee_id, purpose, scope in (
        borrower_selectors.active_authorizations(enterprise_ids=list(enterprise_ids))
        .filter(
            grantee=account_selectors.platform_organization_id(),
            purpose=ConsentPurpose.SCORING,
        )
        .order_by("enterprise_id", "-granted_at", "-pk")
        .values_list("pk", "enterprise_id", "grantee_id", "purpose", "scope")
    ):
        if enterprise_id not in found:
            found[enterprise_id] = _Consent(
                pk, enterprise_id, grantee_id, purpose, scope
            )
    return found


def current_feature_set() -> FeatureSet:
    """The stored description of ``features.FEATURE_SET`` (made the first time)."""
    feature_set, _created = FeatureSet.objects.get_or_create(
        key=FEATURE_SET,
        defaults={"names": list(FEATURE_NAMES), "revision": FEATURES_REVISION},
    )
    return feature_set


@dataclass(frozen=True)
class _Vector:
    """What scoring needs of a stored feature vector (its columns, not an instance)."""

    pk: int
    as_of: dt.date
    values: bytes


def _with_scoring_consent(enterprise_ids: Sequence[int]) -> list[int]:
    """Which of these enterprises have a scoring consent in force, in id order."""
    return sorted(
        borrower_selectors.active_authorizations(enterprise_ids=list(enterprise_ids))
        .filter(
            grantee=account_selectors.platform_organization_id(),
            purpose=ConsentPurpose.SCORING,
        )
        .order_by()
        .values_list("enterprise_id", flat=True)
        .distinct()
    )


def features_refresh(
    *,
    enterprise_ids: Sequence[int],
    as_of: dt.date | None = None,
) -> dict[int, _Vector]:
    """Compute and store the features of enterprises under their scoring consent, as of
    a date (today by default), from their stored records; those without a scoring
    consent in force are skipped.

    Reading the records is a read of the SME's data by the platform: one access-log
    row per category the consent covers.
    """
    as_of = as_of or timezone.localdate()
    authorizations = _scoring_authorizations(enterprise_ids)
    ids = sorted(authorizations)
    if not ids:
        return {}
    # Taken before the read: of two vectors as of the same day, the one whose read
    # began later saw the later records (see ``_latest_vectors``).
    computed_at = timezone.now()
    frames = frames_from_database(ids)
    features = build_features(
        frames, pd.Series(pd.Timestamp(as_of), index=pd.Index(ids, name="enterprise"))
    )
    matrix = np.ascontiguousarray(features[list(FEATURE_NAMES)].to_numpy(dtype="<f8"))
    feature_set = current_feature_set()
    vectors = [
        FeatureVector(
            enterprise_id=enterprise_id,
            feature_set=feature_set,
            as_of=as_of,
            values=row.tobytes(),
            computed_at=computed_at,
        )
        for enterprise_id, row in zip(ids, matrix, strict=True)
    ]
    reads = _access_reads(ids, authorizations)
    with transaction.atomic():
        storage().insert_vectors(vectors)
        borrower_services.access_logs_append(reads=reads)
    return {
        vector.enterprise_id: _Vector(vector.pk, as_of, vector.values)
        for vector in vectors
    }


def _latest_vectors(ids: list[int], as_of: dt.date | None) -> dict[int, _Vector]:
    """Each enterprise's newest stored vector of the current feature set (as of
    ``as_of`` exactly, when given): the latest as-of date, and of one date the vector
    whose read of the records began last."""
    vectors = FeatureVector.objects.filter(
        enterprise_id__in_ids=ids, feature_set_id=FEATURE_SET
    )
    if as_of is not None:
        vectors = vectors.filter(as_of=as_of)
    newest_first = ("enterprise_id", "-as_of", "-computed_at", "-pk")
    if connection.vendor == "postgresql":
        vectors = vectors.order_by(*newest_first).distinct("enterprise_id")
    else:
        vectors = vectors.order_by(*newest_first)
    found: dict[int, _Vector] = {}
    for pk, enterprise_id, vector_as_of, values in vectors.values_list(
        "pk", "enterprise_id", "as_of", "values"
    ):
        if enterprise_id not in found:
            found[enterprise_id] = _Vector(pk, vector_as_of, bytes(values))
    return found


def _model_columns(loaded: LoadedModel) -> np.ndarray:
    """The positions of the model's features in the current feature set."""
    position = {name: i for i, name in enumerate(FEATURE_NAMES)}
    unknown = [name for name in loaded.feature_names if name not in position]
    if unknown:
        raise FeatureSetMismatch(
            f"Model {loaded.version} needs features this code does not compute: "
            f"{', '.join(unknown)}."
        )
    return np.array([position[name] for name in loaded.feature_names], dtype=np.intp)


def score_enterprises(
    *,
    enterprise_ids: Sequence[int],
    model: ModelVersion | None = None,
    as_of: dt.date | None = None,
    requested_by: User | None = None,
    nthread: int | None = None,
) -> list[CreditScore]:
    """Score enterprises under their scoring consent; those without one are skipped.

    This is the online path (it returns the saved instances to a request): xgboost
    runs with ``SCORING_ONLINE_NTHREAD`` threads unless ``nthread`` is given; batch
    chunks go through ``score_batch`` with ``SCORING_NTHREAD``.

    A score is made from the enterprise's newest stored feature vector — computed after
    its last pull, as of that day — or, with ``as_of``, from its vector as of that
    date. Where there is none, the features are computed from the stored records now
    (``features_refresh``, which logs the read) and kept for the next time.
    """
    return _score(
        enterprise_ids=enterprise_ids,
        model=model,
        as_of=as_of,
        requested_by=requested_by,
        instances=True,
        nthread=settings.SCORING_ONLINE_NTHREAD if nthread is None else nthread,
    )


def score_batch(
    *,
    enterprise_ids: Sequence[int],
    model: ModelVersion | None = None,
    as_of: dt.date | None = None,
) -> int:
    """``score_enterprises`` for a batch chunk: the same rows, only their number
    returned (no model instance is built for them, nor their ids read back)."""
    return len(
        _score(
            enterprise_ids=enterprise_ids,
            model=model,
            as_of=as_of,
            instances=False,
            nthread=settings.SCORING_NTHREAD,
        )
    )


def _score(
    *,
    enterprise_ids: Sequence[int],
    model: ModelVersion | None,
    as_of: dt.date | None,
    requested_by: User | None = None,
    instances: bool,
    nthread: int,
) -> list:
    """Score and write: the saved ``CreditScore`` instances, or (``instances`` false)
    the rows written (``storage.SCORE_FIELDS`` values)."""
    version = model or champion()
    loaded = load_model(version, nthread=nthread)
    columns = _model_columns(loaded)
    ids = _with_scoring_consent(enterprise_ids)
    if not ids:
        return []
    vectors = _latest_vectors(ids, as_of)
    missing = [enterprise_id for enterprise_id in ids if enterprise_id not in vectors]
    if missing:
        vectors.update(features_refresh(enterprise_ids=missing, as_of=as_of))
        # A consent revoked in between: that enterprise is not scored.
        ids = [enterprise_id for enterprise_id in ids if enterprise_id in vectors]
        if not ids:
            return []
    chosen = [vectors[enterprise_id] for enterprise_id in ids]
    every_feature = np.frombuffer(
        b"".join(vector.values for vector in chosen), dtype="<f8"
    ).reshape(len(ids), len(FEATURE_NAMES))
    matrix = np.ascontiguousarray(every_feature[:, columns], dtype=np.float64)
    scored = score_matrix(loaded, matrix)
    rows = _score_rows(
        ids=ids,
        vectors=chosen,
        version=version,
        scored=scored,
        loaded=loaded,
        requested_by=requested_by,
    )
    with transaction.atomic():
        return storage().insert_scores(rows, instances=instances)


def _score_rows(
    *,
    ids: list[int],
    vectors: list[_Vector],
    version: ModelVersion,
    scored: Scored,
    loaded: LoadedModel,
    requested_by: User | None,
) -> list[tuple]:
    """Each score's column values (``storage.SCORE_FIELDS``; the reasons as JSON
    text), from whole arrays."""
    codes = reason_codes_json_for_rows(scored.contributions, loaded.feature_names)
    contributions = np.ascontiguousarray(scored.contributions, dtype="<f4").tobytes()
    width = (len(loaded.feature_names) + 1) * 4
    requested_by_id = requested_by.pk if requested_by is not None else None
    created_at = timezone.now()
    # tolist() gives the same Python floats as float() of each element.
    return [
        (
            enterprise_id,
            version.pk,
            vector.pk,
            vector.as_of,
            score,
            pd_value,
            margin,
            grade,
            contributions[row * width : (row + 1) * width],
            row_codes,
            requested_by_id,
            created_at,
        )
        for row, (enterprise_id, vector, score, pd_value, margin, grade, row_codes) in (
            enumerate(
                zip(
                    ids,
                    vectors,
                    scored.score.tolist(),
                    scored.pd.tolist(),
                    scored.margin.tolist(),
                    scored.grade.tolist(),
                    codes,
                    strict=True,
                )
            )
        )
    ]


def _access_reads(
    ids: list[int], authorizations: dict[int, _Consent]
) -> list[borrower_services.AccessRead]:
    """One read per category each consent covers: the features are computed from
    every category in scope."""
    request_id = uuid.uuid4().hex
    channel = AccessChannel.SCORING.value
    return [
        borrower_services.AccessRead(
            enterprise_id=enterprise_id,
            organization_id=authorizations[enterprise_id].grantee_id,
            category=category,
            purpose=authorizations[enterprise_id].purpose,
            authorization_id=authorizations[enterprise_id].pk,
            channel=channel,
            request_id=request_id,
        )
        for enterprise_id in ids
        for category in sorted(authorizations[enterprise_id].scope)
    ]


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


@transaction.atomic
def enterprise_score_now(*, enterprise: Enterprise, requested_by: User) -> CreditScore:
    """The owner's "score now": at most one per ``SCORE_NOW_MIN_INTERVAL_SECONDS``
    per enterprise (every pull is followed by a score anyway). The enterprise row is
    locked so two clicks at once make one score."""
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    latest = (
        CreditScore.objects.filter(enterprise=enterprise)
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is not None:
        retry_at = latest.created_at + dt.timedelta(
            seconds=settings.SCORE_NOW_MIN_INTERVAL_SECONDS
        )
        if retry_at > timezone.now():
            raise TooSoon(
                _(
                    "Your enterprise was scored a moment ago; you can ask for a new "
                    "score after %(time)s."
                )
                % {"time": timezone.localtime(retry_at).strftime("%H:%M")},
                retry_at=retry_at,
            )
    return enterprise_score(enterprise=enterprise, requested_by=requested_by)


def enterprise_refresh_and_score(
    *, enterprise_pk: int, as_of: dt.date
) -> CreditScore | None:
    """After a pull: the enterprise's features as of that day, then its score with the
    champion model, so the score follows the data without a click. ``None`` when
    there is nothing to score: the consent ended meanwhile, or no model is approved
    yet (the features are kept; the next score uses them)."""
    vectors = features_refresh(enterprise_ids=[enterprise_pk], as_of=as_of)
    if not vectors:
        return None
    try:
        champion()
    except NoChampion:
        logger.warning(
            "enterprise=%s: features refreshed, not scored: no champion model",
            enterprise_pk,
        )
        return None
    scores = score_enterprises(enterprise_ids=[enterprise_pk], requested_by=None)
    return scores[0] if scores else None


def rescore(score: CreditScore) -> Scored:
    """Score a stored feature snapshot again with its own model version (one row:
    the online thread count)."""
    loaded = load_model(score.model_version, nthread=settings.SCORING_ONLINE_NTHREAD)
    return score_matrix(loaded, snapshot_matrix([score.features], loaded.feature_names))


@transaction.atomic
def model_promote(*, model: ModelVersion, promoted_by: User | None) -> ModelVersion:
    """Make ``model`` the champion; the previous champion steps down. Old scores stay."""
    rows = lock_objects.model_versions_lock_for_promotion(model_pk=model.pk)
    (locked,) = (row for row in rows if row.pk == model.pk)
    ModelVersion.objects.filter(
        pk__in=[row.pk for row in rows if row.pk != model.pk]
    ).update(is_champion=False)
    locked.is_champion = True
    locked.promoted_by = promoted_by
    locked.promoted_at = timezone.now()
    locked.save(
        update_fields=["is_champion", "promoted_by", "promoted_at", "updated_at"]
    )
    return locked
