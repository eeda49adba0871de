"""The drift page reads a bounded amount whatever the number of recent scores.

The score's PSI is binned by the database over every score of the window; the
features' PSIs are over the feature vectors of the latest ``drift.FEATURE_SAMPLE``
scores. Below the cap the figures are exactly those of reading every row in Python
(``_drift_reading_every_row`` is the page's former algorithm, kept here as the oracle).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from accounts.selectors import platform_organization
from scoring import drift, selectors
from scoring.models import (
    CreditScore,
    FeatureSet,
    FeatureVector,
    ModelKind,
    ModelVersion,
)
from tests.factories import MembershipFactory, activate_totp
from tests.factories.borrowers import EnterpriseFactory

pytestmark = pytest.mark.django_db

NAMES = ["alpha", "beta", "gamma"]
#: A second feature set, in another order and without "gamma" (vectors stored before
#: a feature was added): its rows count as missing for "gamma".
OLD_NAMES = ["beta", "alpha"]


def _reference(rng) -> dict:
    return {
        "features": {
            name: drift.reference_bins(rng.normal(size=2_000)) for name in NAMES
        },
        "score": drift.reference_bins(rng.normal(600, 60, size=2_000)),
    }


@pytest.fixture
def model():
    rng = np.random.default_rng(7)
    return ModelVersion.objects.create(
        version="drift-test",
        kind=ModelKind.PLATFORM,
        artifact="models/drift-test.ubj",
        artifact_sha256="0" * 64,
        features=[{"name": name} for name in NAMES],
        monotone_constraints=[0] * len(NAMES),
        calibration={},
        scale={},
        training_data_sha256="0" * 64,
        training_summary={"reference": _reference(rng)},
        metrics={},
    )


@pytest.fixture
def make_scores(model):
    """``make_scores(n)`` stores ``n`` more scores of ``model``, each a minute older
    than the one before, with their own feature vectors (some with missing values,
    some of the old feature set, some scores exactly on a bin edge, one infinite)."""
    enterprise = EnterpriseFactory()
    current = FeatureSet.objects.create(key="test-new", names=NAMES, revision=2)
    old = FeatureSet.objects.create(key="test-old", names=OLD_NAMES, revision=1)
    rng = np.random.default_rng(11)
    edges = model.training_summary["reference"]["score"]["edges"]
    made = {"n": 0}
    now = timezone.now()

    def make(n: int) -> None:
        vectors, scores = [], []
        for i in range(made["n"], made["n"] + n):
            feature_set = old if i % 5 == 4 else current
            values = rng.normal(0.3, 1.2, size=len(feature_set.names))
            if i % 7 == 3:
                values[0] = np.nan
            vectors.append(
                FeatureVector(
                    enterprise=enterprise,
                    feature_set=feature_set,
                    as_of=dt.date(2025, 6, 30),
                    values=values.astype("<f8").tobytes(),
                )
            )
            if i % 9 == 2:
                score = edges[i % len(edges)]
            elif i == 5:
                score = float("inf")
            else:
                score = float(rng.normal(620, 70))
            scores.append(score)
        vectors = FeatureVector.objects.bulk_create(vectors)
        created = CreditScore.objects.bulk_create(
            CreditScore(
                enterprise=enterprise,
                model_version=model,
                as_of=dt.date(2025, 6, 30),
                score=score,
                pd=0.05,
                margin=-2.9,
                grade="B",
                feature_vector=vector,
                contribution_values=b"",
                reasons=[],
            )
            for vector, score in zip(vectors, scores, strict=True)
        )
        for offset, row in enumerate(created, start=made["n"]):
            CreditScore.objects.filter(pk=row.pk).update(
                created_at=now - dt.timedelta(minutes=offset)
            )
        made["n"] += n

    return make


def _drift_reading_every_row(model, rows) -> dict:
    """The former computation, over ``rows`` = (feature set, vector bytes, score)."""
    reference = model.training_summary["reference"]
    names_of = dict(
        FeatureSet.objects.filter(pk__in={r[0] for r in rows}).values_list(
            "pk", "names"
        )
    )
    matrices = {
        key: np.frombuffer(
            b"".join(bytes(r[1]) for r in rows if r[0] == key), dtype="<f8"
        ).reshape(-1, len(names))
        for key, names in names_of.items()
    }
    features = {}
    for name, ref in reference["features"].items():
        values = np.concatenate(
            [
                matrix[:, names_of[key].index(name)]
                if name in names_of[key]
                else np.full(len(matrix), np.nan)
                for key, matrix in matrices.items()
            ]
        )
        features[name] = round(drift.psi(ref, values), 4)
    score = drift.psi(reference["score"], np.array([r[2] for r in rows], dtype=float))
    return {"features": features, "score": round(score, 4)}


def _rows(model, limit=None):
    queryset = CreditScore.objects.filter(model_version=model).order_by(
        "-created_at", "-pk"
    )
    rows = queryset.values_list(
        "feature_vector__feature_set_id", "feature_vector__values", "score"
    )
    return list(rows[:limit] if limit else rows)


def test_below_the_cap_the_figures_are_those_of_reading_every_row(model, make_scores):
    make_scores(60)
    result = drift.model_drift(model)
    expected = _drift_reading_every_row(model, _rows(model))
    assert result["scores"] == result["sample"] == 60
    assert {row["name"]: row["psi"] for row in result["features"]} == expected[
        "features"
    ]
    assert result["score"]["psi"] == expected["score"]
    # Unrounded too: the database's bin counts are numpy's.
    reference = model.training_summary["reference"]["score"]
    total, counts = selectors.score_bin_counts(
        model=model, since=result["since"], edges=reference["edges"]
    )
    scores = np.array([r[2] for r in _rows(model)], dtype=float)
    assert drift._shares_of_counts(counts, total) == drift._shares(
        scores, reference["edges"]
    )


def test_over_the_cap_reads_the_latest_rows_only(model, make_scores, monkeypatch):
    monkeypatch.setattr(drift, "FEATURE_SAMPLE", 25)
    read = []
    sample = selectors.feature_vector_sample

    def counting_sample(**kwargs):
        rows = sample(**kwargs)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(selectors, "feature_vector_sample", counting_sample)
    make_scores(100)
    with CaptureQueriesContext(connection) as queries:
        result = drift.model_drift(model)
    assert read == [25]
    assert (result["scores"], result["sample"]) == (100, 25)
    # The sample is chosen and cut by the database, and nothing else reads vectors.
    vector_reads = [q["sql"] for q in queries if "scoring_featurevector" in q["sql"]]
    assert len(vector_reads) == 1
    assert "LIMIT 25" in vector_reads[0]
    # Features: the latest 25 scores' vectors; the score: every score, exactly.
    latest = _drift_reading_every_row(model, _rows(model, limit=25))
    every = _drift_reading_every_row(model, _rows(model))
    assert {row["name"]: row["psi"] for row in result["features"]} == latest["features"]
    assert result["score"]["psi"] == every["score"]


def test_the_page_runs_as_many_queries_for_10_as_for_100_scores(
    client, model, make_scores, monkeypatch
):
    monkeypatch.setattr(drift, "FEATURE_SAMPLE", 50)  # 10 below the cap, 100 over
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    with translation.override("en"):
        url = reverse("scoring:model_drift", args=[model.pk])

    def page():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        scoring = [q for q in queries if '"scoring_' in q["sql"]]
        # The model, the score bins (with the count), the sample, its feature sets.
        assert len(scoring) == 4
        return len(queries), response.content.decode()

    client.get(url)  # the first request of a session also stores the session's row
    make_scores(10)
    queries_10, html_10 = page()
    make_scores(90)
    queries_100, html_100 = page()
    assert queries_10 == queries_100
    assert "(10)" in html_10 and "(100)" in html_100
    assert 'data-testid="feature-sample"' not in html_10
    assert "the latest 50 of them" in html_100


def test_no_sample_note_below_the_cap_and_no_vector_read_without_scores(
    client, model, make_scores
):
    with CaptureQueriesContext(connection) as queries:
        result = drift.model_drift(model)
    assert (result["scores"], result["sample"], result["score"]) == (0, 0, None)
    assert len(queries) == 1
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    make_scores(12)
    with translation.override("en"):
        url = reverse("scoring:model_drift", args=[model.pk])
    html = client.get(url).content.decode()
    assert 'data-testid="score-psi"' in html
    assert 'data-testid="feature-sample"' not in html
