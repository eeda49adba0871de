"""Column types of the generic trainer as real files come, and unseen values at scoring.

Issue 12: a real credit file whose ordinal column mixes numbers with ``">4"`` made
``train_model --csv`` refuse and write no model. Now each column's type is inferred
(numbers with token indicators for such a column), the model card says which treatment
each column got and why, the hard error is kept for columns declared ``--numeric``,
and ``score_csv`` scores an unseen value as missing and says how many there were.
Also: online scoring runs xgboost with ``SCORING_ONLINE_NTHREAD`` threads, batch with
``SCORING_NTHREAD``.

The data is generated here with fixed seeds (no real file is needed).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from scoring import services
from scoring.models import ModelVersion
from scoring.tabular import TabularCreditModel, TabularDataError, infer_column

N_ROWS = 400
#: Months in arrears as a bureau extract writes them: one ``">4"`` per 40 rows, the
#: first in data row 3.
ORDINAL_PATTERN = ["1", "2", ">4", "3", "0", "1", "2", "0", "4", "1"] + [
    str(v) for v in (0, 1, 2, 3, 0, 1, 0, 2, 1, 0) * 3
]


def arrears_frame(n: int = N_ROWS, seed: int = 11) -> pd.DataFrame:
    """Borrowers whose default rises with months in arrears (">4" the riskiest)."""
    rng = np.random.default_rng(seed)
    months = np.resize(np.array(ORDINAL_PATTERN, dtype=object), n)
    numeric_months = np.where(months == ">4", "6", months).astype(float)
    region = rng.choice(["north", "south", "east"], size=n)
    z = rng.normal(size=n)
    logit = -1.2 + 0.7 * numeric_months + 0.6 * z + 0.8 * (region == "east")
    default = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    return pd.DataFrame(
        {
            "months_in_arrears": months,
            "z": np.round(z, 4),
            "region": region,
            "default": default.astype(int),
        }
    ).astype(object)


def train(csv: Path, out: Path, **extra) -> str:
    stdout = io.StringIO()
    call_command(
        "train_model",
        csv=str(csv),
        target="default",
        bad="1",
        out=str(out),
        seed=3,
        nthread=1,
        no_progress=True,
        stdout=stdout,
        **extra,
    )
    return stdout.getvalue()


def score(
    model_dir: Path, frame: pd.DataFrame, workdir: Path
) -> tuple[pd.DataFrame, str]:
    csv, out = workdir / "score.csv", workdir / "pred.csv"
    frame.to_csv(csv, index=False)
    stdout = io.StringIO()
    call_command(
        "score_csv", model=str(model_dir), csv=str(csv), out=str(out), stdout=stdout
    )
    return pd.read_csv(out, keep_default_na=False), stdout.getvalue()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("inference")


@pytest.fixture(scope="module")
def train_csv(workdir) -> Path:
    path = workdir / "arrears.csv"
    arrears_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(workdir, train_csv) -> tuple[Path, str]:
    out = workdir / "model"
    return out, train(train_csv, out)


# ---- training on a column that mixes numbers and tokens ------------------------------


def test_ordinal_column_with_a_token_trains_and_the_card_records_its_treatment(
    trained,
):
    model_dir, stdout = trained
    assert (model_dir / "model.ubj").is_file()
    card = json.loads((model_dir / "model_card.json").read_text())
    by_name = {feature["name"]: feature for feature in card["features"]}
    assert by_name["months_in_arrears"] == {
        "name": "months_in_arrears",
        "kind": "mixed",
        "treatment": "numeric with token indicators",
        "why": (
            "97.5% of the non-missing values are numbers (at least 50%): kept as a "
            "number; the other 10 are 1 distinct non-numeric token(s), each with an "
            "indicator of its own"
        ),
        "declared": None,
        "missing": 0,
        "numeric_share": 0.975,
        "tokens": {">4": 10},
        "distinct_tokens": 1,
    }
    assert by_name["z"]["kind"] == "numeric"
    assert by_name["z"]["why"] == "every non-missing value is a number"
    assert by_name["region"]["kind"] == "text"
    assert by_name["region"]["why"] == (
        "no value is a number; 3 distinct level(s), each one-hot"
    )
    assert set(card["column_rules"]) == {
        "numeric",
        "mixed",
        "text",
        "declared numeric",
        "unseen at scoring",
    }
    # The number keeps its order (one float feature); the token has its own indicator.
    preprocess = json.loads((model_dir / "preprocess.json").read_text())
    assert preprocess["format_version"] == 2
    assert preprocess["encoded_features"][:3] == [
        "months_in_arrears",
        "months_in_arrears=>4",
        "months_in_arrears=__other__",
    ]
    assert (
        "  months_in_arrears: numeric with token indicators — 97.5% of the "
        "non-missing values are numbers" in stdout
    )
    assert "report.html" in stdout


def test_the_token_is_learned_from_the_data(trained):
    """ ">4" rows default most often here: the model scores them riskier than "0"."""
    model = TabularCreditModel.load(trained[0], nthread=1)
    rows = arrears_frame().head(40)
    worst = model.predict(rows.assign(months_in_arrears=">4"))["pd"]
    best = model.predict(rows.assign(months_in_arrears="0"))["pd"]
    assert (worst.to_numpy() > best.to_numpy()).all()


def test_declared_numeric_column_with_a_token_refuses_and_writes_no_model(
    tmp_path, train_csv, db
):
    out = tmp_path / "model"
    with pytest.raises(CommandError) as excinfo:
        train(train_csv, out, numeric="months_in_arrears")
    assert str(excinfo.value) == (
        f"{train_csv}: column 'months_in_arrears': value '>4' in data row 3 "
        "(1-based, header not counted) is not a number; 97.5% of the column's values "
        "are numbers and the column is declared numeric (--numeric). Fix or blank "
        "the value."
    )
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary directory left either
    assert ModelVersion.objects.count() == 0


def test_declared_numeric_column_of_numbers_trains_as_declared(tmp_path, train_csv):
    out = tmp_path / "model"
    train(train_csv, out, numeric="z")
    card = json.loads((out / "model_card.json").read_text())
    (z,) = [f for f in card["features"] if f["name"] == "z"]
    assert (z["kind"], z["declared"]) == ("numeric", "numeric")
    assert (
        z["why"] == "every non-missing value is a number; declared numeric (--numeric)"
    )


def test_declared_categorical_column_is_one_hot(tmp_path, train_csv):
    out = tmp_path / "model"
    train(train_csv, out, categorical="months_in_arrears")
    card = json.loads((out / "model_card.json").read_text())
    (column,) = [f for f in card["features"] if f["name"] == "months_in_arrears"]
    assert column["kind"] == "text"
    assert column["why"] == (
        "declared categorical (--categorical); 6 distinct level(s), each one-hot"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"numeric": "nope"},
            "numeric column 'nope' (--numeric) is not in the data",
        ),
        (
            {"numeric": "z", "categorical": "z"},
            "column 'z' is declared both numeric and categorical",
        ),
        (
            {"categorical": "default"},
            "categorical column 'default' (--categorical) is the target column, "
            "not a feature",
        ),
        ({"numeric": " , "}, "--numeric names no column: ' , '"),
        (
            {"monotone": "months_in_arrears=1"},
            "monotone column 'months_in_arrears' mixes numbers with non-numeric "
            "tokens and a constraint cannot order the tokens; clean the values and "
            "declare the column numeric (--numeric), or drop the constraint",
        ),
    ],
)
def test_bad_column_declarations_are_refused(tmp_path, train_csv, options, message):
    out = tmp_path / "model"
    with pytest.raises(CommandError) as excinfo:
        train(train_csv, out, **options)
    assert str(excinfo.value).endswith(message)
    assert not out.exists()


def test_mostly_text_column_is_categorical_and_mostly_numeric_is_mixed():
    mostly_text = pd.Series(["a", "b", "1", "c", "a", None])
    spec, profile = infer_column("grade", mostly_text)
    assert (spec.kind, spec.levels) == ("text", ["a", "1", "b", "c"])
    assert profile["why"] == (
        "only 20.0% of the non-missing values are numbers (below 50%); "
        "4 distinct level(s), each one-hot"
    )
    assert profile["missing"] == 1
    half = pd.Series(["1", "none", "2", "none", "<1", "3"])
    spec, profile = infer_column("years", half)
    assert (spec.kind, spec.levels, spec.other_levels) == (
        "mixed",
        ["none", "<1"],
        [],
    )
    assert profile["tokens"] == {"none": 2, "<1": 1}


def test_tokens_beyond_the_cap_are_pooled_and_recorded(monkeypatch):
    monkeypatch.setattr("scoring.tabular.MAX_TOKENS", 2)
    series = pd.Series(["1", "2", "3", "4", "5", "6", "x", "x", "y", "w"] * 2)
    spec, profile = infer_column("c", series)
    assert (spec.levels, spec.other_levels) == (["x", "w"], ["y"])
    assert profile["tokens"] == {"x": 4, "w": 2}
    assert profile["distinct_tokens"] == 3
    assert profile["why"].endswith(
        "3 distinct non-numeric token(s), the 2 most frequent with an indicator of "
        "their own, 1 rarer ones pooled as 'other'"
    )


# ---- unseen values at scoring ------------------------------------------------------------


def test_score_csv_scores_unseen_values_as_missing_and_reports_the_count(
    trained, tmp_path
):
    model_dir, _ = trained
    rows = arrears_frame(seed=12).head(8).reset_index(drop=True)
    unseen = rows.copy()
    unseen.loc[[0, 1], "region"] = "mars"
    unseen.loc[2, "region"] = "venus"
    unseen.loc[3, "months_in_arrears"] = "<1"
    unseen.loc[4, "z"] = "unknown"  # "n/a" would be read as missing already
    blank = rows.copy()
    blank.loc[[0, 1, 2], "region"] = None
    blank.loc[3, "months_in_arrears"] = None
    blank.loc[4, "z"] = None

    predicted, stdout = score(model_dir, unseen, tmp_path)
    as_missing, quiet = score(model_dir, blank, tmp_path)

    assert len(predicted) == 8
    np.testing.assert_array_equal(predicted["pd"], as_missing["pd"])
    assert stdout.splitlines()[:3] == [
        "1 unseen value in column 'months_in_arrears' treated as missing: '<1' ×1",
        "1 unseen value in column 'z' treated as missing: 'unknown' ×1",
        "3 unseen values in column 'region' treated as missing: 'mars' ×2, 'venus' ×1",
    ]
    assert "treated as missing" not in quiet


def test_rare_level_seen_in_training_stays_other_and_is_not_unseen(monkeypatch):
    monkeypatch.setattr("scoring.tabular.MAX_LEVELS", 3)
    frame = arrears_frame()
    frame.loc[frame.index[::50], "region"] = "west"  # rare: beyond the three kept
    model = TabularCreditModel().fit(
        frame, target="default", bad_value="1", seed=1, nthread=1
    )
    (region,) = [c for c in model.columns if c.name == "region"]
    assert region.other_levels == ["west"]
    rows = frame.head(3).assign(region=["west", "mars", None])
    result = model.score(rows)
    assert result.unseen == {"region": {"mars": 1}}
    # Features: months (number, ">4", other), z, then region's three levels, "other"
    # and "missing": west → "other"; mars → "missing", exactly as the blank cell.
    block = model._encode(rows)[:, 4 : 4 + region.width]
    assert block.tolist() == [[0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1]]


def test_declared_numeric_column_still_refuses_a_non_number_at_scoring(
    tmp_path, train_csv
):
    model_dir = tmp_path / "model"
    train(train_csv, model_dir, numeric="z")
    rows = arrears_frame(seed=12).head(6)
    rows.loc[rows.index[4], "z"] = "unknown"
    csv, out = tmp_path / "score.csv", tmp_path / "pred.csv"
    rows.to_csv(csv, index=False)
    with pytest.raises(CommandError) as excinfo:
        call_command("score_csv", model=str(model_dir), csv=str(csv), out=str(out))
    assert str(excinfo.value) == (
        f"{csv}: column 'z': value 'unknown' in data row 5 (1-based, header not counted) "
        "is not a number; the column was declared numeric (--numeric) when the model "
        "was trained. Fix or blank the value."
    )
    assert not out.exists()


def test_model_of_format_1_still_pools_values_without_an_indicator_as_other(
    trained, tmp_path
):
    """A model saved before format 2 kept no rare levels: such a model was trained
    with every value lacking an indicator as "other", and is scored that way."""
    old = tmp_path / "old-model"
    old.mkdir()
    for path in trained[0].iterdir():
        (old / path.name).write_bytes(path.read_bytes())
    pre = json.loads((old / "preprocess.json").read_text())
    pre["format_version"] = 1
    pre["columns"] = [
        {"name": c["name"], "kind": c["kind"], "levels": c["levels"]}
        for c in pre["columns"]
        if c["kind"] != "mixed"
    ]
    (old / "preprocess.json").write_text(json.dumps(pre))
    model = TabularCreditModel.load(old, nthread=1)
    (region,) = [c for c in model.columns if c.name == "region"]
    assert region.other_levels is None
    rows = pd.DataFrame({"z": ["0.5"], "region": ["mars"]})
    assert model._encode_counting(rows)[1] == {}
    assert model._encode(rows)[0].tolist() == [0.5, 0.0, 0.0, 0.0, 1.0, 0.0]


def test_unknown_format_version_is_refused(trained, tmp_path):
    broken = tmp_path / "m"
    broken.mkdir()
    for path in trained[0].iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    pre = json.loads((broken / "preprocess.json").read_text())
    pre["format_version"] = 3
    (broken / "preprocess.json").write_text(json.dumps(pre))
    with pytest.raises(ValueError, match="unsupported format_version 3"):
        TabularCreditModel.load(broken, nthread=1)


def test_fit_refuses_a_declared_numeric_column_with_a_token():
    frame = arrears_frame()
    with pytest.raises(TabularDataError, match="declared numeric"):
        TabularCreditModel().fit(
            frame,
            target="default",
            bad_value="1",
            numeric=["months_in_arrears"],
            seed=1,
            nthread=1,
        )


# ---- xgboost threads: online 1, batch SCORING_NTHREAD ----------------------------------


def _booster_nthread(booster) -> int:
    config = json.loads(booster.save_config())
    return int(config["learner"]["generic_param"]["nthread"])


@pytest.fixture
def models_used(monkeypatch) -> list[services.LoadedModel]:
    """The loaded models ``score_matrix`` is called with."""
    used: list[services.LoadedModel] = []
    original = services.score_matrix

    def spy(model, matrix):
        used.append(model)
        return original(model, matrix)

    monkeypatch.setattr(services, "score_matrix", spy)
    return used


def test_online_score_runs_xgboost_with_the_online_thread_count(
    scored_enterprise, settings, models_used
):
    settings.SCORING_NTHREAD = 3
    assert settings.SCORING_ONLINE_NTHREAD == 1  # the default
    enterprise, _owner = scored_enterprise
    score = services.enterprise_score(enterprise=enterprise)
    (loaded,) = models_used
    assert loaded.nthread == 1
    assert _booster_nthread(loaded.booster) == 1
    # Rescoring one stored score is online too.
    services.rescore(score)
    assert [m.nthread for m in models_used] == [1, 1]


def test_batch_chunk_runs_xgboost_with_the_batch_thread_count(
    scored_enterprise, settings, models_used
):
    settings.SCORING_NTHREAD = 3
    enterprise, _owner = scored_enterprise
    assert services.score_batch(enterprise_ids=[enterprise.pk]) == 1
    (loaded,) = models_used
    assert loaded.nthread == 3
    assert _booster_nthread(loaded.booster) == 3
    # Same model, other thread count: another cached booster, the online one intact.
    online = services.load_model(loaded.version, nthread=1)
    assert online.booster is not loaded.booster
    assert _booster_nthread(online.booster) == 1
