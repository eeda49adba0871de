"""The score an SME applied with is frozen on the application: a new champion model
and a rescoring of the enterprise change nothing the bank reviews."""

from __future__ import annotations

import pytest

from marketplace.models import Application
from scoring import services as scoring_services
from scoring.selectors import latest_score
from scoring.training import register_model
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.factories.marketplace import submitted_application
from tests.factories.scoring import champion_version, stored_score

pytestmark = pytest.mark.django_db

SNAPSHOT_FIELDS = (
    "score_id",
    "snapshot_model_version",
    "snapshot_score",
    "snapshot_pd",
    "snapshot_grade",
    "snapshot_as_of",
    "snapshot_reasons",
    "snapshot_features",
)
REASONS = [
    {"factor": "penalties", "feature": "unrepaired_penalties", "contribution": 0.61},
    {"factor": "tax", "feature": "tax_arrears_months_12m", "contribution": 0.22},
]


def snapshot(application: Application) -> dict:
    row = Application.objects.get(pk=application.pk)
    return {name: getattr(row, name) for name in SNAPSHOT_FIELDS}


def score_values(score) -> dict:
    """What the application must have frozen of ``score`` (read at submit time)."""
    return {
        "score_id": score.pk,
        "snapshot_model_version": score.model_version.version,
        "snapshot_score": score.score,
        "snapshot_pd": score.pd,
        "snapshot_grade": score.grade,
        "snapshot_as_of": score.as_of,
        "snapshot_reasons": score.explained_reasons,
        "snapshot_features": score.features,
    }


def test_the_snapshot_is_the_score_at_submission_after_a_new_model_rescored_the_sme():
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner)
    first = stored_score(
        enterprise,
        grade="C",
        score=588.25,
        pd=0.0731,
        features={
            "years_in_business": 6.0,
            "unrepaired_penalties": 2.0,
            "tax_arrears_months_12m": 1.0,
        },
        reasons=REASONS,
    )
    at_submission = score_values(first)
    application = submitted_application(enterprise=enterprise, owner=owner)
    assert snapshot(application) == at_submission
    assert at_submission["snapshot_reasons"][0]["text_zh"]  # explained, both languages
    assert at_submission["snapshot_reasons"][0]["text_en"]
    assert at_submission["snapshot_features"]["unrepaired_penalties"] == 2.0

    # A new champion is promoted and the enterprise rescored (the penalties repaired).
    model = champion_version("v2-after-submission")
    rescored = stored_score(
        enterprise,
        model=model,
        grade="A",
        score=712.0,
        pd=0.011,
        features={"years_in_business": 6.0, "unrepaired_penalties": 0.0},
    )
    assert latest_score(enterprise_pk=enterprise.pk).pk == rescored.pk

    assert snapshot(application) == at_submission
    assert Application.objects.get(pk=application.pk).score.model_version.version == (
        "test-champion"
    )


def test_a_new_application_after_the_rescoring_freezes_the_new_score():
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner)
    stored_score(enterprise, grade="C")
    first = submitted_application(enterprise=enterprise, owner=owner)
    model = champion_version("v2-after-submission")
    rescored = stored_score(enterprise, model=model, grade="A", score=712.0, pd=0.011)

    second = submitted_application(enterprise=enterprise, owner=owner)

    assert snapshot(second) == score_values(rescored)
    assert snapshot(first)["snapshot_grade"] == "C"


def test_the_snapshot_survives_a_real_promotion_and_rescoring(
    scored_enterprise, small_models
):
    """The real path: a trained champion scored the enterprise from its pulled
    records; another trained model is promoted and scores it again."""
    enterprise, owner = scored_enterprise
    first = latest_score(enterprise_pk=enterprise.pk)
    assert first is not None and first.model_version.is_champion
    at_submission = score_values(first)
    application = submitted_application(enterprise=enterprise, owner=owner)

    challenger = register_model(small_models[1])
    scoring_services.model_promote(model=challenger, promoted_by=None)
    rescored = scoring_services.enterprise_score(enterprise=enterprise)

    assert rescored.model_version_id == challenger.pk != first.model_version_id
    assert rescored.pk != first.pk
    assert (rescored.score, rescored.pd) != (first.score, first.pd)
    assert snapshot(application) == at_submission
