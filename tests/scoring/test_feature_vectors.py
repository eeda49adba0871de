"""Stored feature vectors: computed after every pull, read by scoring, kept forever."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from borrowers import services as borrower_services
from borrowers.exceptions import ConsentRequired
from borrowers.models import DataAccessLog
from core.codes import Category
from creditdata import services as creditdata_services
from scoring import services
from scoring.data import frames_from_database
from scoring.features import FEATURE_NAMES, FEATURE_SET, build_features
from scoring.models import CreditScore, FeatureSet, FeatureVector
from scoring.training import register_model


def _features_now(enterprise_id: int, as_of: dt.date) -> np.ndarray:
    frames = frames_from_database([enterprise_id])
    features = build_features(
        frames,
        pd.Series(
            pd.Timestamp(as_of), index=pd.Index([enterprise_id], name="enterprise")
        ),
    )
    return features[list(FEATURE_NAMES)].to_numpy(dtype="<f8")[0]


def _scoring_logs(enterprise) -> int:
    return DataAccessLog.objects.filter(
        enterprise=enterprise, channel="scoring"
    ).count()


def test_a_pull_stores_the_features_as_of_that_day_and_logs_the_read(
    scored_enterprise,
):
    enterprise, _owner = scored_enterprise
    vector = FeatureVector.objects.get(enterprise=enterprise)
    assert vector.as_of == timezone.localdate()
    assert vector.feature_set_id == FEATURE_SET
    assert vector.feature_set.names == list(FEATURE_NAMES)
    # Exactly the features of the stored records as of the day of the pull.
    assert (
        vector.array().tobytes() == _features_now(enterprise.pk, vector.as_of).tobytes()
    )
    # Reading the twelve categories to compute them is in the SME's access log.
    assert sorted(
        DataAccessLog.objects.filter(
            enterprise=enterprise, channel="scoring"
        ).values_list("category", flat=True)
    ) == sorted(Category.values)


def test_scoring_reads_the_stored_vector_and_reads_no_record(
    scored_enterprise, champion
):
    enterprise, owner = scored_enterprise
    vector = FeatureVector.objects.get(enterprise=enterprise)
    logs, vectors = DataAccessLog.objects.count(), FeatureVector.objects.count()
    score = services.enterprise_score(enterprise=enterprise, requested_by=owner)
    assert score.feature_vector_id == vector.pk
    assert score.as_of == vector.as_of
    stored = CreditScore.objects.get(pk=score.pk)
    names = [f["name"] for f in champion.features]
    assert stored.features == vector.as_dict(names)
    assert list(stored.contributions) == [*names, "bias"]
    # No new read of the records, no new vector: one score row.
    assert DataAccessLog.objects.count() == logs
    assert FeatureVector.objects.count() == vectors


def test_without_a_vector_scoring_computes_one_logs_the_read_and_keeps_it(
    scored_enterprise,
):
    enterprise, _owner = scored_enterprise
    # The pull scored it already (a score follows the data); start with neither.
    CreditScore.objects.filter(enterprise=enterprise).delete()
    FeatureVector.objects.filter(enterprise=enterprise).delete()
    logs = _scoring_logs(enterprise)
    first = services.enterprise_score(enterprise=enterprise)
    vector = FeatureVector.objects.get(enterprise=enterprise)
    assert first.feature_vector_id == vector.pk
    assert vector.as_of == timezone.localdate()
    assert _scoring_logs(enterprise) == logs + 12
    second = services.enterprise_score(enterprise=enterprise)
    assert second.feature_vector_id == vector.pk
    assert _scoring_logs(enterprise) == logs + 12
    assert (second.score, second.pd, second.margin, second.reasons) == (
        first.score,
        first.pd,
        first.margin,
        first.reasons,
    )


def test_the_newest_vector_is_used_and_old_scores_keep_theirs(
    scored_enterprise, django_capture_on_commit_callbacks
):
    enterprise, owner = scored_enterprise
    old_vector = FeatureVector.objects.get(enterprise=enterprise)
    old = services.enterprise_score(enterprise=enterprise)
    with django_capture_on_commit_callbacks(execute=True):
        creditdata_services.ingestion_request(enterprise=enterprise, requested_by=owner)
    new_vector = FeatureVector.objects.exclude(pk=old_vector.pk).get(
        enterprise=enterprise
    )
    assert new_vector.computed_at > old_vector.computed_at
    new = services.enterprise_score(enterprise=enterprise)
    assert new.feature_vector_id == new_vector.pk
    assert CreditScore.objects.get(pk=old.pk).feature_vector_id == old_vector.pk


def test_a_later_as_of_date_wins_over_a_later_computation(scored_enterprise):
    enterprise, _owner = scored_enterprise
    today = FeatureVector.objects.get(enterprise=enterprise)
    # Computed after today's vector, but as of an earlier date.
    earlier = services.features_refresh(
        enterprise_ids=[enterprise.pk], as_of=today.as_of - dt.timedelta(days=40)
    )[enterprise.pk]
    score = services.enterprise_score(enterprise=enterprise)
    assert score.feature_vector_id == today.pk != earlier.pk


def test_an_explicit_as_of_date_uses_or_computes_that_dates_vector(scored_enterprise):
    enterprise, _owner = scored_enterprise
    as_of = dt.date(2025, 6, 30)
    score = services.enterprise_score(enterprise=enterprise, as_of=as_of)
    vector = FeatureVector.objects.get(enterprise=enterprise, as_of=as_of)
    assert score.feature_vector_id == vector.pk
    assert score.as_of == as_of
    assert vector.array().tobytes() == _features_now(enterprise.pk, as_of).tobytes()
    again = services.enterprise_score(enterprise=enterprise, as_of=as_of)
    assert again.feature_vector_id == vector.pk
    assert FeatureVector.objects.filter(enterprise=enterprise).count() == 2


def test_a_vector_of_another_feature_set_is_not_used(scored_enterprise):
    enterprise, _owner = scored_enterprise
    current = FeatureVector.objects.get(enterprise=enterprise)
    other_set = FeatureSet.objects.create(key="0" * 16, names=["x"], revision=0)
    stale = FeatureVector.objects.create(
        enterprise=enterprise,
        feature_set=other_set,
        as_of=current.as_of + dt.timedelta(days=1),
        values=np.array([1.0]).tobytes(),
    )
    score = services.enterprise_score(enterprise=enterprise)
    assert score.feature_vector_id == current.pk != stale.pk


def test_scores_from_a_vector_equal_scores_from_the_records(
    scored_enterprise, champion
):
    """The stored path and the records path give the same score, to the last bit."""
    enterprise, _owner = scored_enterprise
    from_vector = services.enterprise_score(enterprise=enterprise)
    loaded = services.load_model(champion)
    row = _features_now(enterprise.pk, from_vector.as_of)
    columns = [FEATURE_NAMES.index(f["name"]) for f in champion.features]
    direct = services.score_matrix(loaded, row[columns].reshape(1, -1))
    assert float(direct.margin[0]) == from_vector.margin
    assert float(direct.pd[0]) == from_vector.pd
    assert float(direct.score[0]) == from_vector.score
    assert np.ascontiguousarray(
        direct.contributions[0], dtype="<f4"
    ).tobytes() == bytes(CreditScore.objects.get(pk=from_vector.pk).contribution_values)


def test_a_feature_vector_is_never_updated(scored_enterprise):
    enterprise, _owner = scored_enterprise
    vector = FeatureVector.objects.get(enterprise=enterprise)
    before = bytes(vector.values)
    vector.values = np.zeros(len(FEATURE_NAMES)).tobytes()
    with pytest.raises(ValueError, match="kept as computed"):
        vector.save()
    assert bytes(FeatureVector.objects.get(pk=vector.pk).values) == before


def test_a_model_needing_unknown_features_is_refused_and_nothing_is_written(
    scored_enterprise, small_models
):
    enterprise, _owner = scored_enterprise
    model = register_model(small_models[1])
    model.features = [*model.features, {"name": "no_such_feature"}]
    model.save(update_fields=["features"])
    counts = (CreditScore.objects.count(), FeatureVector.objects.count())
    with pytest.raises(services.FeatureSetMismatch, match="no_such_feature"):
        services.score_enterprises(enterprise_ids=[enterprise.pk], model=model)
    assert (CreditScore.objects.count(), FeatureVector.objects.count()) == counts


def test_a_revoked_consent_stops_scoring_from_a_stored_vector(scored_enterprise):
    enterprise, owner = scored_enterprise
    authorization = enterprise.authorizations.get()
    borrower_services.authorization_revoke(
        authorization=authorization, revoked_by=owner
    )
    counts = (CreditScore.objects.count(), DataAccessLog.objects.count())
    with pytest.raises(ConsentRequired):
        services.enterprise_score(enterprise=enterprise)
    assert (CreditScore.objects.count(), DataAccessLog.objects.count()) == counts


def test_no_vector_is_computed_once_the_consent_is_revoked(scored_enterprise):
    enterprise, owner = scored_enterprise
    borrower_services.authorization_revoke(
        authorization=enterprise.authorizations.get(), revoked_by=owner
    )
    counts = (FeatureVector.objects.count(), DataAccessLog.objects.count())
    assert services.features_refresh(enterprise_ids=[enterprise.pk]) == {}
    assert (FeatureVector.objects.count(), DataAccessLog.objects.count()) == counts


def test_a_stored_score_reads_back_exactly_what_was_computed(scored_enterprise):
    enterprise, owner = scored_enterprise
    score = services.enterprise_score(enterprise=enterprise, requested_by=owner)
    stored = CreditScore.objects.get(pk=score.pk)
    for field in (
        "enterprise_id",
        "model_version_id",
        "feature_vector_id",
        "as_of",
        "score",
        "pd",
        "margin",
        "grade",
        "reasons",
        "requested_by_id",
        "created_at",
    ):
        assert getattr(stored, field) == getattr(score, field), field
    assert bytes(stored.contribution_values) == bytes(score.contribution_values)


def test_batch_scoring_writes_the_same_rows_as_online_scoring(scored_enterprise):
    enterprise, _owner = scored_enterprise
    after_pull = set(
        CreditScore.objects.filter(enterprise=enterprise).values_list("pk", flat=True)
    )
    online = services.enterprise_score(enterprise=enterprise)
    assert services.score_batch(enterprise_ids=[enterprise.pk]) == 1
    batch = CreditScore.objects.exclude(pk__in=after_pull | {online.pk}).get(
        enterprise=enterprise
    )
    for field in ("feature_vector_id", "as_of", "score", "pd", "margin", "grade"):
        assert getattr(batch, field) == getattr(online, field), field
    assert batch.reasons == online.reasons
    assert bytes(batch.contribution_values) == bytes(online.contribution_values)
    assert (batch.enterprise_id, batch.model_version_id, batch.requested_by_id) == (
        enterprise.pk,
        online.model_version_id,
        None,
    )


def _score_row(score: CreditScore, **changes) -> CreditScore:
    """A copy of ``score``'s row, unsaved, with ``changes``."""
    fields = {
        field.attname: getattr(score, field.attname)
        for field in CreditScore._meta.concrete_fields
        if not field.primary_key
    }
    return CreditScore(**{**fields, **changes})


@pytest.mark.parametrize("wrong", ["enterprise", "vector"])
def test_a_score_must_point_to_a_vector_of_its_own_enterprise(
    postgres, scored_enterprise, wrong
):
    """One composite foreign key checks a score's snapshot and enterprise together:
    a vector of another enterprise, or none at all, is refused; nothing is written."""
    from django.db import IntegrityError, connection, transaction

    from creditdata.synthetic import synthetic_uscc
    from tests.factories.borrowers import enterprise_with_owner

    enterprise, _owner = scored_enterprise
    before = list(CreditScore.objects.values_list("pk", flat=True))  # the pull's
    score = services.enterprise_score(enterprise=enterprise)
    other, _other_owner = enterprise_with_owner(uscc=synthetic_uscc(78))
    changes = (
        {"enterprise_id": other.pk}
        if wrong == "enterprise"
        else {"feature_vector_id": FeatureVector.objects.order_by("-pk")[0].pk + 1}
    )
    with (
        pytest.raises(IntegrityError, match="scoring_score_vector_enterprise_fk"),
        transaction.atomic(),
    ):
        _score_row(score, **changes).save()
        connection.check_constraints()  # deferred to commit otherwise
    assert sorted(CreditScore.objects.values_list("pk", flat=True)) == sorted(
        [*before, score.pk]
    )


def test_a_vector_a_score_points_to_cannot_be_deleted(postgres, scored_enterprise):
    from django.db import IntegrityError, connection, transaction

    enterprise, _owner = scored_enterprise
    score = services.enterprise_score(enterprise=enterprise)
    with (
        pytest.raises(IntegrityError, match="scoring_score_vector_enterprise_fk"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "DELETE FROM scoring_featurevector WHERE id = %s",
            [score.feature_vector_id],
        )
        connection.check_constraints()
    assert FeatureVector.objects.filter(pk=score.feature_vector_id).exists()
