"""Scoring enterprises with the champion model, and promoting models.

A model is loaded once per process (a worker scores many chunks with it). A score is
computed from the features of the records stored *as of* a date, under the
enterprise's scoring consent, and written once with its feature snapshot, exact
per-feature contributions and reasons; it is never rewritten.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb
from django.conf import settings
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from accounts.models import User
from borrowers import selectors as borrower_selectors
from borrowers.exceptions import ConsentRequired
from borrowers.models import (
    AccessChannel,
    ConsentPurpose,
    DataAccessLog,
    Enterprise,
)
from scoring.data import frames_from_database
from scoring.engine import Platt
from scoring.features import build_features
from scoring.models import CreditScore, ModelVersion
from scoring.reasons import reasons_for_rows
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
            grantee=borrower_selectors.platform_organization(),
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
    matrix = features[list(loaded.feature_names)].to_numpy(dtype=np.float64)
    scored = score_matrix(loaded, matrix)
    rows, logs = _score_rows(
        ids=ids,
        version=version,
        matrix=matrix,
        scored=scored,
        loaded=loaded,
        as_of=as_of,
        authorizations=authorizations,
        requested_by=requested_by,
    )
    return _write_scores(rows, logs)


#: The access-log fields scoring sets (``accessed_at`` is the time of the write).
_LOG_FIELDS = (
    "enterprise_id",
    "organization_id",
    "category",
    "purpose",
    "authorization_id",
    "channel",
    "request_id",
)


def _score_rows(
    *,
    ids: list[int],
    version: ModelVersion,
    matrix: np.ndarray,
    scored: Scored,
    loaded: LoadedModel,
    as_of: dt.date,
    authorizations: dict[int, _Consent],
    requested_by: User | None,
) -> tuple[list[CreditScore], list[tuple]]:
    """The score rows (snapshot, contributions, reasons) and the access-log entries
    (``_LOG_FIELDS`` values), built from whole arrays rather than row by row."""
    names = list(loaded.feature_names)
    # tolist() gives the same Python floats as float() of each element.
    snapshots = [
        {
            name: (None if value != value else value)  # NaN → None
            for name, value in zip(names, row, strict=True)
        }
        for row in matrix.tolist()
    ]
    contributions = []
    for row in scored.contributions.tolist():
        by_name = dict(zip(names, row[:-1], strict=True))
        by_name["bias"] = row[-1]
        contributions.append(by_name)
    reasons = reasons_for_rows(snapshots, scored.contributions, names)
    rows = []
    columns = zip(
        ids,
        scored.score.tolist(),
        scored.pd.tolist(),
        scored.margin.tolist(),
        scored.grade.tolist(),
        strict=True,
    )
    for position, (enterprise_id, score, pd_value, margin, grade) in enumerate(columns):
        rows.append(
            CreditScore(
                enterprise_id=enterprise_id,
                model_version=version,
                as_of=as_of,
                score=score,
                pd=pd_value,
                margin=margin,
                grade=grade,
                features=snapshots[position],
                contributions=contributions[position],
                reasons=reasons[position],
                requested_by=requested_by,
            )
        )
    request_id = uuid.uuid4().hex
    channel = AccessChannel.SCORING.value
    logs: list[tuple] = []
    for enterprise_id in ids:
        authorization = authorizations[enterprise_id]
        logs.extend(
            (
                enterprise_id,
                authorization.grantee_id,
                category,
                authorization.purpose,
                authorization.pk,
                channel,
                request_id,
            )
            for category in sorted(authorization.scope)
        )
    return rows, logs


def _write_scores(rows: list[CreditScore], logs: list[tuple]) -> list[CreditScore]:
    with transaction.atomic():
        if connection.vendor == "postgresql" and _copyable(CreditScore):
            created = _copy_scores(rows)
        else:
            created = CreditScore.objects.bulk_create(rows, batch_size=1000)
        _write_access_logs(logs)
    return created


def _copyable(model) -> bool:
    """Whether every column's value is set by Django (none by the database)."""
    return not any(
        getattr(field, "generated", False) or field.db_default is not NOT_PROVIDED
        for field in model._meta.concrete_fields
    )


def _copy_scores(rows: list[CreditScore]) -> list[CreditScore]:
    """``bulk_create`` through ``COPY``: the same rows, the same objects returned (pk
    set, saved). Each value is prepared by its field as ``bulk_create`` prepares it
    (``pre_save`` stamps ``created_at``); only the transport differs. Django 5.2's
    bulk INSERT sends each column as an array, and quoting the JSON snapshots into
    array literals costs several times more than scoring them."""
    from psycopg import sql

    db = transaction.get_connection()  # the wrapper itself, not the proxy
    meta = CreditScore._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table),
        sql.SQL(", ").join(
            sql.Identifier(field.column) for field in [meta.pk, *fields]
        ),
    )
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
            "FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        pks = sorted(pk for (pk,) in cursor.fetchall())
        with cursor.cursor.copy(statement) as copy:
            for pk, row in zip(pks, rows, strict=True):
                copy.write_row(
                    (
                        pk,
                        *(
                            field.get_db_prep_save(field.pre_save(row, add=True), db)
                            for field in fields
                        ),
                    )
                )
    for pk, row in zip(pks, rows, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = db.alias
    return rows


def _write_access_logs(logs: list[tuple]) -> None:
    """Append the access-log rows: with ``COPY`` on PostgreSQL (a bulk INSERT of model
    instances costs more than scoring them), else with ``bulk_create``."""
    if connection.vendor != "postgresql":
        DataAccessLog.objects.bulk_create(
            (DataAccessLog(**dict(zip(_LOG_FIELDS, log, strict=True))) for log in logs),
            batch_size=2000,
        )
        return
    from psycopg import sql

    meta = DataAccessLog._meta
    columns = [meta.get_field(name).column for name in (*_LOG_FIELDS, "accessed_at")]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
    )
    accessed_at = timezone.now()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for log in logs:
            copy.write_row((*log, accessed_at))


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
