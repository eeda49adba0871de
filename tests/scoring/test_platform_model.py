"""The platform model: as-of features, monotonicity, exact reasons, reproducibility."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.codes import Category
from creditdata.categories import RECORD_FIELDS
from creditdata.synthetic import records_for, synthetic_uscc
from scoring.data import frames_from_wire
from scoring.features import FEATURE_NAMES, FEATURES, PRIMARY_DATE, build_features
from scoring.reasons import group_contributions
from scoring.services import LoadedModel, score_matrix
from scoring.synthetic_sample import draw_sample
from scoring.training import fit_platform_model

SEED = 20260101


@pytest.fixture(scope="module")
def sample():
    return draw_sample(enterprises_per_vintage=3000)


@pytest.fixture(scope="module")
def trained(sample):
    return fit_platform_model(sample, seed=SEED, nthread=2)


def _loaded(trained) -> LoadedModel:
    return LoadedModel(
        version=None,
        booster=trained.booster,
        platt=trained.platt,
        scale=trained.scale,
        feature_names=FEATURE_NAMES,
    )


# --- as-of discipline ---------------------------------------------------------------------
def _visible(record: dict, as_of: dt.date) -> dict | None:
    """The record as it was known on ``as_of``: absent if dated later, later facts blank."""
    category = record["category"]
    primary = PRIMARY_DATE[category]
    value = record[primary]
    day = dt.date.fromisoformat(value + "-01" if len(value) == 7 else value)
    if day > as_of:
        return None
    visible = dict(record)
    for spec in RECORD_FIELDS[category]:
        later = (
            spec.kind == "date"
            and spec.name != primary
            and visible[spec.name]
            and dt.date.fromisoformat(visible[spec.name]) > as_of
        )
        if later:
            visible[spec.name] = None
    return visible


@hypothesis_settings(max_examples=25, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=50_000),
    days_back=st.integers(min_value=0, max_value=4 * 365),
)
def test_no_feature_ever_reads_a_record_dated_after_the_as_of_date(index, days_back):
    uscc = synthetic_uscc(index)
    known_until = dt.date(2026, 6, 30)
    as_of = known_until - dt.timedelta(days=days_back)
    records = [r for c in Category.values for r in records_for(uscc, c, known_until)]
    with_future = build_features(
        frames_from_wire((uscc, r) for r in records),
        pd.Series({uscc: pd.Timestamp(as_of)}),
    )
    past_only = [v for v in (_visible(r, as_of) for r in records) if v is not None]
    without_future = build_features(
        frames_from_wire((uscc, r) for r in past_only),
        pd.Series({uscc: pd.Timestamp(as_of)}),
    )
    pd.testing.assert_frame_equal(with_future, without_future)


def test_features_cover_the_whole_catalogue_with_directions():
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES))
    assert {f.direction for f in FEATURES} <= {-1, 0, 1}
    assert all(f.label_zh and f.label_en for f in FEATURES)


# --- the trained model ---------------------------------------------------------------------
def test_out_of_time_auc_is_within_002_of_the_true_pd_auc(trained):
    oot = trained.metrics["out_of_time"]
    assert oot["true_pd_auc"] - oot["auc"] <= 0.02, oot
    assert 0.5 < oot["auc"] <= oot["true_pd_auc"] + 0.02
    assert set(oot) >= {"auc", "ks", "brier", "ece", "grade_table"}


def test_raising_a_good_feature_never_lowers_the_score(trained, sample):
    model = _loaded(trained)
    base = sample.features.iloc[:300].to_numpy(dtype=float)
    for position, feature in enumerate(FEATURES):
        if feature.direction == 0:
            continue
        column = base[:, position]
        finite = column[np.isfinite(column)]
        if finite.size == 0:
            continue
        step = max(float(np.std(finite)), 1.0)
        previous = None
        for shift in range(6):
            changed = base.copy()
            # direction −1 is a good feature: raise it; +1 is bad: lower it.
            changed[:, position] = np.where(
                np.isfinite(column),
                column - feature.direction * shift * step / 2,
                column,
            )
            scores = score_matrix(model, changed).score
            if previous is not None:
                assert np.all(scores >= previous - 1e-9), feature.name
            previous = scores


def test_contributions_sum_to_the_margin_and_reasons_are_the_largest_adverse_factors(
    trained, sample
):
    from scoring.reasons import reasons_for

    model = _loaded(trained)
    matrix = sample.features.iloc[:500].to_numpy(dtype=float)
    scored = score_matrix(model, matrix)
    np.testing.assert_allclose(
        scored.contributions.sum(axis=1), scored.margin, rtol=0, atol=1e-4
    )
    for row in range(50):
        contributions = dict(
            zip(FEATURE_NAMES, scored.contributions[row][:-1].tolist(), strict=True)
        )
        values = dict(zip(FEATURE_NAMES, matrix[row].tolist(), strict=True))
        reasons = reasons_for(values, contributions)
        groups = group_contributions(contributions)
        adverse = sorted(
            (g for g, c in groups.items() if c > 0), key=lambda g: -groups[g]
        )[:4]
        assert [r["factor"] for r in reasons] == adverse
        assert all(r["text_zh"] and r["text_en"] for r in reasons)
        assert [r["contribution"] for r in reasons] == sorted(
            (r["contribution"] for r in reasons), reverse=True
        )


def test_training_is_reproducible(sample, trained):
    again = fit_platform_model(sample, seed=SEED, nthread=2)
    assert again.artifact == trained.artifact
    assert again.platt == trained.platt
