"""The generic tabular trainer end to end: ``train_model --csv`` and ``score_csv``.

The data is generated here (fixed seed) so the suite runs on a fresh checkout: numeric
columns with a known effect on default, a text column, missing values in both, and an
id column. One model is trained per module and shared by the read-only tests.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from scoring import metrics as m
from scoring.report import PLOTS
from scoring.tabular import (
    REASON_COLUMNS,
    TabularCreditModel,
    TabularDataError,
    target_vector,
)

N_TRAIN = 2000
REGION_RISK = {"north": -0.6, "south": 0.0, "east": 0.4, "west": 0.9, "island": 0.2}


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """Borrowers whose default depends on x (+), income (−), utilisation and region."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    income = rng.lognormal(mean=10.0, sigma=0.5, size=n)
    utilisation = rng.uniform(0, 1, size=n)
    regions = np.array(list(REGION_RISK))
    region = regions[rng.choice(len(regions), size=n, p=[0.35, 0.3, 0.2, 0.1, 0.05])]
    logit = (
        -1.3
        + 1.3 * x
        - 0.9 * np.log(income / np.exp(10.0))
        + 1.5 * (utilisation - 0.5)
        + np.vectorize(REGION_RISK.get)(region)
    )
    default = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{seed:03d}-{i:05d}" for i in range(n)],
            "x": np.round(x, 4),
            "income": np.round(income, 2),
            "utilisation": np.round(utilisation, 3),
            "region": region,
            "default": default.astype(int),
        }
    ).astype(object)
    frame.loc[rng.random(n) < 0.05, "income"] = None
    frame.loc[rng.random(n) < 0.05, "region"] = None
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def train(csv: Path, out: Path, **extra) -> None:
    # One thread: on a busy 2-core machine xgboost's OpenMP threads wait on each
    # other and a 1-second training can take 20; one thread stays fast.
    call_command(
        "train_model",
        csv=str(csv),
        target="default",
        bad="1",
        out=str(out),
        id_column="customer_id",
        seed=7,
        nthread=1,
        no_progress=True,
        **extra,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tabular")


@pytest.fixture(scope="module")
def train_csv(workdir) -> Path:
    return write_csv(make_frame(N_TRAIN, seed=1), workdir / "train.csv")


@pytest.fixture(scope="module")
def test_frame() -> pd.DataFrame:
    return make_frame(1500, seed=2)


@pytest.fixture(scope="module")
def model_dir(workdir, train_csv) -> Path:
    out = workdir / "model"
    train(train_csv, out)
    return out


@pytest.fixture(scope="module")
def model(model_dir) -> TabularCreditModel:
    return TabularCreditModel.load(model_dir, nthread=1)


@pytest.fixture(scope="module")
def predictions(workdir, model_dir, test_frame) -> pd.DataFrame:
    csv = write_csv(test_frame, workdir / "test.csv")
    out = workdir / "pred.csv"
    call_command("score_csv", model=str(model_dir), csv=str(csv), out=str(out))
    return pd.read_csv(out, dtype={"customer_id": str}, keep_default_na=False)


# ---- round trip --------------------------------------------------------------------


def test_predictions_are_one_row_per_input_row_in_order(predictions, test_frame):
    assert list(predictions.columns) == [
        "customer_id",
        "pd",
        "score",
        "grade",
        *REASON_COLUMNS,
    ]
    assert len(predictions) == len(test_frame)
    assert predictions["customer_id"].tolist() == test_frame["customer_id"].tolist()


def test_predictions_are_valid_and_rank_held_out_data(predictions, test_frame):
    pd_ = predictions["pd"].to_numpy()
    assert ((pd_ > 0) & (pd_ < 1)).all()
    assert set(predictions["grade"]) <= {"A", "B", "C", "D"}
    assert m.auc(test_frame["default"].astype(int), pd_) > 0.7
    # Higher PD, lower score: the scale is strictly decreasing.
    order = np.argsort(pd_)
    assert (np.diff(predictions["score"].to_numpy()[order]) <= 1e-9).all()


def test_model_directory_is_complete(model_dir):
    names = {p.name for p in model_dir.iterdir()}
    expected = {"model.ubj", "preprocess.json", "calibration.json", "scale.json"}
    assert expected | {"model_card.json", "report.html", *PLOTS} <= names
    card = json.loads((model_dir / "model_card.json").read_text())
    assert card["rows"] == N_TRAIN
    assert card["training_data_sha256"]
    assert card["metrics"]["auc"] > 0.7
    assert {"auc", "ks", "brier", "ece", "grade_table"} <= set(card["metrics"])
    assert [g["grade"] for g in card["metrics"]["grade_table"]] == ["A", "B", "C", "D"]
    assert {f["name"] for f in card["features"]} == {
        "x",
        "income",
        "utilisation",
        "region",
    }
    html = (model_dir / "report.html").read_text()
    assert '<img src="roc.png"' in html
    assert "http" not in html  # self-contained: no CDN


def test_no_leftover_temporary_directories(workdir, model_dir):
    assert not [p for p in workdir.iterdir() if p.name.startswith(".")]


def test_unseen_category_and_missing_values_are_scored(model, test_frame):
    frame = test_frame.head(3).copy()
    frame["region"] = ["mars", None, "north"]
    frame["income"] = [None, "", "50000"]
    out = model.predict(frame)
    assert out.index.tolist() == frame.index.tolist()
    assert out["pd"].between(0, 1).all()


# ---- determinism -------------------------------------------------------------------


def test_same_seed_same_model(workdir, train_csv, model_dir, model, test_frame):
    again = workdir / "model-again"
    train(train_csv, again)
    assert (again / "model.ubj").read_bytes() == (model_dir / "model.ubj").read_bytes()
    pd.testing.assert_frame_equal(
        TabularCreditModel.load(again, nthread=1).predict(test_frame),
        model.predict(test_frame),
    )


# ---- monotone constraint -----------------------------------------------------------


def test_monotone_x_never_lowers_pd_when_raised(workdir, train_csv, test_frame):
    out = workdir / "model-monotone"
    train(train_csv, out, monotone="x=1")
    mono = TabularCreditModel.load(out, nthread=1)
    assert json.loads((out / "preprocess.json").read_text())["monotone"] == {"x": 1}
    rows = test_frame.head(200).reset_index(drop=True)
    grid = np.linspace(-4, 4, 41)
    pds = np.column_stack(
        [mono.predict(rows.assign(x=value))["pd"].to_numpy() for value in grid]
    )
    assert (np.diff(pds, axis=1) >= 0).all()
    assert (pds[:, -1] > pds[:, 0]).all()


# ---- contributions and reasons -----------------------------------------------------


def test_contributions_add_up_to_the_margin(model, test_frame):
    rows = test_frame.head(50)
    contrib = model.contributions(rows)
    assert list(contrib.columns) == ["x", "income", "utilisation", "region", "bias"]
    np.testing.assert_allclose(
        contrib.sum(axis=1).to_numpy(), model.margin(rows), atol=1e-4
    )


def test_reason_1_is_the_largest_positive_contribution(model, test_frame):
    rows = test_frame.head(200)
    contrib = model.contributions(rows).drop(columns="bias")
    pred = model.predict(rows)
    checked = 0
    for idx, row in contrib.iterrows():
        reasons = pred.loc[idx, list(REASON_COLUMNS)].tolist()
        positive = row[row > 0].sort_values(ascending=False)
        if positive.empty:
            assert reasons == ["", "", "", ""]
            continue
        column = positive.index[0]
        value = rows.loc[idx, column]
        shown = "missing" if value is None or value != value else str(value)
        assert reasons[0] == f"{column}={shown}"
        # Later reasons follow in decreasing order; no more than the positive ones.
        expected = [f"{c}=" for c in positive.index[: len(REASON_COLUMNS)]]
        assert [r.split("=")[0] + "=" for r in reasons if r] == expected
        checked += 1
    assert checked > 100


# ---- bad input ---------------------------------------------------------------------


def _assert_refused(csv: Path, out: Path, *names: str, **options) -> None:
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "train_model",
            csv=str(csv),
            target=options.pop("target", "default"),
            bad=options.pop("bad", "1"),
            out=str(out),
            no_progress=True,
            **options,
        )
    for name in names:
        assert name in str(excinfo.value)
    assert not out.exists()


def test_csv_without_the_target(tmp_path):
    csv = write_csv(make_frame(200, 3).drop(columns="default"), tmp_path / "t.csv")
    _assert_refused(csv, tmp_path / "out", "'default'")


def test_target_with_one_class(tmp_path):
    csv = write_csv(make_frame(200, 3).assign(default=0), tmp_path / "t.csv")
    _assert_refused(csv, tmp_path / "out", "'default'", "one class")


def test_typo_in_bad_value_is_one_class(tmp_path):
    csv = write_csv(make_frame(200, 3), tmp_path / "t.csv")
    _assert_refused(csv, tmp_path / "out", "'default'", bad="yes")


def test_constant_column(tmp_path):
    csv = write_csv(make_frame(200, 3).assign(branch="HQ"), tmp_path / "t.csv")
    _assert_refused(csv, tmp_path / "out", "'branch'", "constant")


def test_non_numeric_value_in_declared_numeric_column(tmp_path):
    frame = make_frame(1000, 3)
    frame["amount"] = np.arange(1000).astype(str)
    frame.loc[636, "amount"] = "abc"
    csv = write_csv(frame, tmp_path / "t.csv")
    _assert_refused(
        csv, tmp_path / "out", "'amount'", "'abc'", "row 637", numeric="amount"
    )


def test_missing_id_column(tmp_path):
    csv = write_csv(make_frame(200, 3), tmp_path / "t.csv")
    _assert_refused(csv, tmp_path / "out", "'client_no'", id_column="client_no")


@pytest.mark.parametrize(
    ("spec", "names"),
    [("nope=1", ["'nope'"]), ("region=1", ["'region'"]), ("x=2", ["'x'", "2"])],
)
def test_bad_monotone(tmp_path, spec, names):
    csv = write_csv(make_frame(200, 3), tmp_path / "t.csv")
    _assert_refused(csv, tmp_path / "out", *names, monotone=spec)


def test_missing_training_file(tmp_path):
    missing = tmp_path / "nowhere.csv"
    _assert_refused(missing, tmp_path / "out", str(missing))


def test_non_empty_out_is_refused_without_force(tmp_path):
    csv = write_csv(make_frame(200, 3), tmp_path / "t.csv")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="--force"):
        train(csv, out)
    assert (out / "keep.txt").read_text() == "mine"


def test_score_csv_with_unknown_model_dir(tmp_path, test_frame):
    csv = write_csv(test_frame.head(10), tmp_path / "t.csv")
    missing, out = tmp_path / "no-model", tmp_path / "pred.csv"
    with pytest.raises(CommandError, match="no-model"):
        call_command("score_csv", model=str(missing), csv=str(csv), out=str(out))
    assert not out.exists()


def test_score_csv_with_missing_model_file(tmp_path, model_dir, test_frame):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "preprocess.json").write_bytes(
        (model_dir / "preprocess.json").read_bytes()
    )
    csv = write_csv(test_frame.head(10), tmp_path / "t.csv")
    out = tmp_path / "pred.csv"
    with pytest.raises(CommandError, match=re.escape("model.ubj")):
        call_command("score_csv", model=str(broken), csv=str(csv), out=str(out))
    assert not out.exists()


def test_score_csv_with_missing_input_file(tmp_path, model_dir):
    missing, out = tmp_path / "absent.csv", tmp_path / "pred.csv"
    with pytest.raises(CommandError, match=re.escape("absent.csv")):
        call_command("score_csv", model=str(model_dir), csv=str(missing), out=str(out))
    assert not out.exists()


def test_score_csv_names_a_missing_column(tmp_path, model_dir, test_frame):
    csv = write_csv(test_frame.head(10).drop(columns="income"), tmp_path / "t.csv")
    out = tmp_path / "pred.csv"
    with pytest.raises(CommandError, match="'income'"):
        call_command("score_csv", model=str(model_dir), csv=str(csv), out=str(out))
    assert not out.exists()


def test_score_csv_scores_a_non_numeric_value_as_missing(
    tmp_path, model_dir, test_frame
):
    """A column inferred numeric (not declared ``--numeric``) scores a non-number as
    missing and says so; tests/scoring/test_tabular_inference.py has the rest."""
    frame = test_frame.head(10).copy()
    frame.loc[frame.index[4], "utilisation"] = "high"
    csv = write_csv(frame, tmp_path / "t.csv")
    out = tmp_path / "pred.csv"
    stdout = io.StringIO()
    call_command(
        "score_csv", model=str(model_dir), csv=str(csv), out=str(out), stdout=stdout
    )
    assert stdout.getvalue().splitlines()[0] == (
        "1 unseen value in column 'utilisation' treated as missing: 'high' ×1"
    )
    assert len(pd.read_csv(out)) == 10


def test_csv_mode_needs_target_bad_and_out(tmp_path):
    with pytest.raises(CommandError, match="--target"):
        call_command("train_model", csv=str(tmp_path / "t.csv"), bad="1", out="x")


# ---- unit checks of the data rules ---------------------------------------------------


def test_numeric_target_matches_numerically():
    frame = pd.DataFrame({"t": ["0", "1.0", "1", " 1 ", "0.0"]})
    assert target_vector(frame, "t", "1").tolist() == [0, 1, 1, 1, 0]
    text = pd.DataFrame({"t": [" bad", "good", "bad ", "good"]})
    assert target_vector(text, "t", "bad").tolist() == [1, 0, 1, 0]


def test_flag_with_blanks_is_not_constant_but_all_blank_is(tmp_path):
    frame = make_frame(300, 4)
    frame["collateral"] = np.where(np.arange(300) % 3 == 0, "yes", None)
    model = TabularCreditModel().fit(
        frame,
        target="default",
        bad_value="1",
        id_column="customer_id",
        seed=1,
        nthread=1,
    )
    assert "collateral" in [c.name for c in model.columns]
    frame["collateral"] = None
    with pytest.raises(TabularDataError, match="'collateral' is constant"):
        TabularCreditModel().fit(
            frame, target="default", bad_value="1", seed=1, nthread=1
        )


def test_chunked_scoring_matches(model, test_frame, monkeypatch):
    rows = test_frame.head(300)
    whole = model.predict(rows)
    monkeypatch.setattr("scoring.tabular.PREDICT_CHUNK", 64)
    pd.testing.assert_frame_equal(model.predict(rows), whole)


def test_without_csv_delegates_to_the_platform_trainer(monkeypatch, tmp_path):
    calls: list[dict] = []
    monkeypatch.setattr(
        "scoring.training.train_platform_model", lambda **kw: calls.append(kw)
    )
    call_command("train_model", enterprises=10, vintages=2, seed=3, no_progress=True)
    (kwargs,) = calls
    assert kwargs["out"] is None
    assert (kwargs["enterprises"], kwargs["vintages"], kwargs["seed"]) == (10, 2, 3)
    assert kwargs["progress"] is False
    assert kwargs["promote"] is False
    assert set(kwargs) == {
        "out",
        "enterprises",
        "vintages",
        "seed",
        "nthread",
        "progress",
        "promote",
        "stdout",
    }
    with pytest.raises(CommandError, match="--csv"):
        call_command("train_model", target="default")
