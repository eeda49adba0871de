"""Online scoring under consent, the registry, promotion, and bit-identical rescoring."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from borrowers.exceptions import ConsentRequired
from borrowers.models import DataAccessLog
from scoring import services
from scoring.models import CreditScore, ModelVersion
from scoring.training import register_model
from tests.factories.borrowers import enterprise_with_owner, grant


def test_online_score_keeps_model_snapshot_and_reasons(scored_enterprise, champion):
    enterprise, owner = scored_enterprise
    logs_before = DataAccessLog.objects.count()
    score = services.enterprise_score(enterprise=enterprise, requested_by=owner)
    assert score.model_version == champion
    assert score.grade in {"A", "B", "C", "D"}
    assert 0 < score.pd < 1
    assert set(score.features) == {f["name"] for f in champion.features}
    assert abs(sum(score.contributions.values()) - score.margin) < 1e-4
    assert 1 <= len(score.reasons) <= 4 or score.margin < 0
    assert all(r["text_zh"] and r["text_en"] for r in score.explained_reasons)
    # The features were computed after the pull (which logged reading the twelve
    # categories); scoring from them reads no record and logs nothing more.
    assert score.feature_vector.enterprise == enterprise
    assert DataAccessLog.objects.filter(channel="scoring").count() == 12
    assert DataAccessLog.objects.count() == logs_before


def test_rescoring_the_same_snapshot_with_the_same_model_is_bit_identical(
    scored_enterprise,
):
    enterprise, _owner = scored_enterprise
    score = services.enterprise_score(enterprise=enterprise)
    stored = CreditScore.objects.get(pk=score.pk)
    for _ in range(2):
        again = services.rescore(stored)
        assert float(again.margin[0]) == stored.margin
        assert float(again.pd[0]) == stored.pd
        assert float(again.score[0]) == stored.score
        assert str(again.grade[0]) == stored.grade


def test_promoting_a_model_leaves_old_scores_alone(
    scored_enterprise, small_models, champion
):
    enterprise, _owner = scored_enterprise
    old = services.enterprise_score(enterprise=enterprise)
    before = CreditScore.objects.filter(pk=old.pk).values().get()
    challenger = register_model(small_models[1])
    services.model_promote(model=challenger, promoted_by=None)
    assert list(ModelVersion.objects.filter(is_champion=True)) == [challenger]
    new = services.enterprise_score(enterprise=enterprise)
    assert new.model_version == challenger
    assert CreditScore.objects.filter(pk=old.pk).values().get() == before
    with pytest.raises(ValueError):
        old.save()


def test_only_one_champion_can_exist(db, small_models):
    first = register_model(small_models[0])
    second = register_model(small_models[1])
    ModelVersion.objects.filter(pk=first.pk).update(is_champion=True)
    with pytest.raises(IntegrityError):
        ModelVersion.objects.filter(pk=second.pk).update(is_champion=True)


def test_no_consent_no_score_and_nothing_written(db, champion):
    enterprise, _owner = enterprise_with_owner()
    with pytest.raises(ConsentRequired):
        services.enterprise_score(enterprise=enterprise)
    assert CreditScore.objects.count() == 0
    assert DataAccessLog.objects.count() == 0


def test_no_champion_is_a_clear_error(db):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner)
    with pytest.raises(services.NoChampion, match="No model has been promoted"):
        services.enterprise_score(enterprise=enterprise)
