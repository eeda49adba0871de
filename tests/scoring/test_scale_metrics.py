"""The points scale and the validation metrics, checked against hand-computed values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from scoring import metrics as m
from scoring.scale import PointsScale

BANDS = (("A", 600.0), ("B", 570.0), ("C", 540.0))


@pytest.fixture
def scale() -> PointsScale:
    return PointsScale(pdo=20.0, base_score=600.0, base_odds=50.0, bands=BANDS)


def pd_for_good_odds(odds: float) -> float:
    """PD of a borrower whose good:bad odds are ``odds``."""
    return 1.0 / (1.0 + odds)


def test_factor_and_offset(scale):
    assert scale.factor == pytest.approx(20.0 / math.log(2))
    assert scale.offset == pytest.approx(600.0 - 20.0 / math.log(2) * math.log(50.0))


def test_base_odds_scores_base_score(scale):
    assert scale.score(np.array([pd_for_good_odds(50.0)]))[0] == pytest.approx(600.0)


def test_doubling_the_odds_adds_pdo(scale):
    scores = scale.score(np.array([pd_for_good_odds(o) for o in (25, 50, 100, 200)]))
    assert np.diff(scores) == pytest.approx([20.0, 20.0, 20.0])
    assert scores[0] == pytest.approx(580.0)


def test_even_odds_score_offset(scale):
    assert scale.score(np.array([0.5]))[0] == pytest.approx(scale.offset)


def test_pd_is_clipped(scale):
    scores = scale.score(np.array([0.0, 1.0]))
    assert np.isfinite(scores).all()
    assert scores[0] == pytest.approx(scale.offset + scale.factor * math.log(1e6 - 1))


def test_grades_at_band_edges(scale):
    scores = np.array([700.0, 600.0, 599.999, 570.0, 569.999, 540.0, 539.999, -5.0])
    assert scale.grade(scores).tolist() == ["A", "A", "B", "B", "C", "C", "D", "D"]


def test_bands_are_sorted_whatever_the_input_order():
    shuffled = PointsScale(20.0, 600.0, 50.0, (("C", 540.0), ("A", 600.0), ("B", 570)))
    assert shuffled.bands == BANDS
    assert shuffled.grade_names() == ("A", "B", "C", "D")


def test_round_trip_through_json(scale):
    again = PointsScale.from_dict(json.loads(json.dumps(scale.to_dict())))
    assert again == scale


def test_from_settings(settings):
    settings.SCORING_PDO = 40.0
    settings.SCORING_GRADE_BANDS = {"A": 650.0, "B": 600.0, "C": 500.0}
    scale = PointsScale.from_settings()
    assert scale.pdo == 40.0
    assert scale.base_score == 600.0
    assert scale.bands == (("A", 650.0), ("B", 600.0), ("C", 500.0))


def test_invalid_scale_is_refused():
    with pytest.raises(ValueError, match="pdo"):
        PointsScale(0.0, 600.0, 50.0, BANDS)


# ---- metrics ------------------------------------------------------------------------

Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


def test_auc_hand_computed():
    # Pairs (bad, good): (0.35 > 0.1), (0.35 < 0.4), (0.8 > both) → 3 of 4.
    assert m.auc(Y, P) == pytest.approx(0.75)
    assert m.auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert math.isnan(m.auc([1, 1], [0.2, 0.3]))


def test_ks_hand_computed():
    # Thresholds 0.8, 0.4, 0.35, 0.1: TPR−FPR = 0.5, 0, 0.5, 0 → KS 0.5.
    assert m.ks(Y, P) == pytest.approx(0.5)
    assert m.ks([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0)


def test_brier_hand_computed():
    expected = (0.01 + 0.16 + 0.65**2 + 0.04) / 4
    assert m.brier(Y, P) == pytest.approx(expected)


def test_ece_equal_frequency_bins():
    # Two bins of two rows: {0.1, 0.35} → |0.5 − 0.225|, {0.4, 0.8} → |0.5 − 0.6|.
    assert m.ece(Y, P, bins=2) == pytest.approx(0.5 * 0.275 + 0.5 * 0.1)
    # One bin: |mean(y) − mean(p)|.
    assert m.ece(Y, P, bins=1) == pytest.approx(abs(0.5 - 0.4125))
    # Perfect calibration per bin.
    assert m.ece([0, 1], [0.0, 1.0], bins=2) == pytest.approx(0.0)


def test_grade_table_order_and_empty_grades():
    table = m.grade_table([1, 0, 0, 1, 1], ["D", "A", "A", "C", "D"])
    assert [row["grade"] for row in table] == ["A", "B", "C", "D"]
    assert table[0] == {"grade": "A", "n": 2, "defaults": 0, "default_rate": 0.0}
    assert table[1] == {"grade": "B", "n": 0, "defaults": 0, "default_rate": None}
    assert table[2] == {"grade": "C", "n": 1, "defaults": 1, "default_rate": 1.0}
    assert table[3] == {"grade": "D", "n": 2, "defaults": 2, "default_rate": 1.0}


def test_summary_is_json_and_rounded():
    out = m.summary(Y, P, ["A", "B", "C", "D"])
    assert json.loads(json.dumps(out)) == out
    assert out["auc"] == 0.75
    assert out["ks"] == 0.5
    assert out["brier"] == round((0.01 + 0.16 + 0.65**2 + 0.04) / 4, 6)
    assert out["n"] == 4
    assert out["bad_rate"] == 0.5
    assert [row["n"] for row in out["grade_table"]] == [1, 1, 1, 1]


def test_summary_with_one_class_has_nulls_not_nan():
    out = m.summary([0, 0], [0.1, 0.2], ["A", "A"])
    assert out["auc"] is None
    assert out["ks"] is None
    json.dumps(out, allow_nan=False)
