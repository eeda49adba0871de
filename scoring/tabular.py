"""Generic credit-scoring trainer for any tabular CSV.

Partner banks and the credit promotion office hand us extracts we have never seen: the
trainer therefore infers everything it needs from the data and refuses, with a message
naming the column, anything it cannot interpret safely (a constant column, a target
with one class, a non-number in a column the user declared numeric) instead of training
a quietly wrong model.

Pipeline
--------
* **Columns.** Each column's type is inferred from its values (credit extracts mix
  numbers with codes such as ``">4"``, ``"<1"`` or ``"none"``, and a real user must
  get a model, not an error); the model card records, per column, the treatment
  applied and why (share of numeric values, the tokens seen):

  - *numeric* when every non-missing value parses as a finite number: one float
    feature, missing → NaN (xgboost routes it down a learned default branch);
  - *numeric with token indicators* (``mixed``) when at least half of the
    non-missing values are numbers: the numbers stay one float feature (so their
    order is used), and each non-numeric token — the 20 most frequent, the rest
    pooled as "other" — gets an indicator of its own, with the float NaN on those
    rows. The trainer cannot know what ``">4"`` or ``"none"`` means as a number, so
    it does not guess one: each token's effect is learned from the data. Monotone
    constraints need a true number column and are refused on a mixed one;
  - *categorical* (``text``) otherwise: one-hot over its 50 most frequent levels,
    plus an "other" indicator (the rarer levels seen in training) and a "missing"
    indicator.

  ``numeric=[...]`` (``--numeric``) declares columns numeric: a value that is not a
  number there is an error naming the column, the value, its row and the share of
  numbers, and nothing is trained — the old strictness, now only where the user
  asked for it. ``categorical=[...]`` (``--categorical``) forces one-hot (for
  numeric codes such as district codes). Each encoded feature remembers its
  original column, so explanations are given per column.
* **Unseen values at scoring** — a level or token the training data never had, or
  a non-number in a column that held only numbers — are treated as missing: encoded
  exactly as an empty cell of that column, so the model takes the path it learned
  for missing values. They are counted per column (:attr:`TabularScores.unseen`,
  printed by ``score_csv``) instead of failing the file; a column declared numeric
  still refuses a non-number.
* **Model.** xgboost, ``tree_method="hist"``, optional monotone constraints. Monotone
  convention: ``{"col": 1}`` means a higher value can only *increase* the probability of
  bad (lower the score); ``-1`` means it can only decrease it.
* **Rounds and calibration by cross-fitting.** The training rows are cut into k
  stratified folds (k = 5, so each validation split is 20 % of the training data). One
  model per fold is trained with early stopping on its held-out fold; its margins on
  that fold are "out-of-fold" — produced by a model that never saw those rows. The
  final model is refitted on *all* rows for the average best round count (× 1.1 for the
  25 % more data), Platt scaling (a logistic regression on the raw margin) is fitted on
  the out-of-fold margins, and the validation metrics in the model card are those of the
  calibrated out-of-fold predictions. This is what ``CalibratedClassifierCV`` does with
  ``ensemble=False``; compared with one 80/20 split it lets the final model learn from
  every row (it matters on 1,000-row files) and measures on every row instead of 20 %.
  Platt scaling is strictly increasing in the margin (its slope is forced positive), so
  ranking, AUC and monotone constraints survive calibration.
* **Scores.** PD → points and grade with the platform's :class:`PointsScale`, stored
  with the model.
* **Reasons.** Exact TreeSHAP contributions (``pred_contribs``) summed back to original
  columns; the four largest positive ones — the columns pushing the score down most —
  become ``reason_1..4`` as ``"column=value"``.

Everything is deterministic for a given data set, seed and thread count.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.model_selection import StratifiedKFold

from scoring import metrics as m
from scoring.engine import Platt, ProgressBar, fit_platt
from scoring.report import write_report
from scoring.scale import PointsScale

#: Written into preprocess.json. 2 added mixed columns, declared kinds and the rare
#: levels of a column (to tell a rare level seen in training from an unseen one);
#: version 1 files are still read (see :meth:`TabularCreditModel.load`).
FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)
#: Levels of a categorical column with an indicator of their own.
MAX_LEVELS = 50
#: Non-numeric tokens of a mixed column with an indicator of their own.
MAX_TOKENS = 20
#: Share of numbers (of the non-missing values) from which a column is mixed.
MIXED_NUMERIC_SHARE = 0.5
OTHER_LEVEL = "__other__"
MISSING_LEVEL = "__missing__"
N_REASONS = 4
#: Rows scored per xgboost call; bounds the memory of the contribution matrix.
PREDICT_CHUNK = 50_000
REASON_COLUMNS: tuple[str, ...] = tuple(f"reason_{i}" for i in range(1, N_REASONS + 1))
OUTPUT_COLUMNS: tuple[str, ...] = ("pd", "score", "grade", *REASON_COLUMNS)

MODEL_FILE = "model.ubj"
PREPROCESS_FILE = "preprocess.json"
CALIBRATION_FILE = "calibration.json"
SCALE_FILE = "scale.json"
CARD_FILE = "model_card.json"
REQUIRED_FILES: tuple[str, ...] = (
    MODEL_FILE,
    PREPROCESS_FILE,
    CALIBRATION_FILE,
    SCALE_FILE,
)

#: Defaults measured on the German and Taiwan UCI credit sets (docs/benchmarks.md):
#: shallow trees and a small learning rate with early stopping generalise best on
#: credit extracts of a few thousand to a few hundred thousand rows.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "learning_rate": 0.05,
    "max_depth": 4,
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "max_bin": 256,
}
DEFAULT_TRAINING: dict[str, Any] = {
    "max_rounds": 2000,
    "early_stopping_rounds": 100,
    "folds": 5,
    "refit_round_factor": 1.1,
}


class TabularDataError(ValueError):
    """The data cannot be trained on or scored as it is; the message names the column."""


ColumnKind = Literal["numeric", "mixed", "text"]
#: What ``kind`` means, in the words of the model card.
TREATMENTS: dict[str, str] = {
    "numeric": "numeric",
    "mixed": "numeric with token indicators",
    "text": "categorical (one-hot)",
}


@dataclass
class ColumnSpec:
    """One original input column and how it is encoded.

    ``levels`` are the values with an indicator of their own: a categorical column's
    most frequent levels, or a mixed column's most frequent non-numeric tokens.
    ``other_levels`` are the rarer ones seen in training (pooled as "other"); any
    value in neither list is unseen and scored as missing. ``None`` (models of format
    version 1, which did not keep them) pools every value without an indicator as
    "other", as those models were trained to. ``declared`` is true when the user
    declared the kind (``--numeric`` / ``--categorical``).
    """

    name: str
    kind: ColumnKind
    levels: list[str] = field(default_factory=list)
    other_levels: list[str] | None = field(default_factory=list)
    declared: bool = False

    @property
    def width(self) -> int:
        """Encoded features: 1 (numeric); the number, one per token and "other"
        (mixed); one per level, "other" and "missing" (categorical)."""
        return 1 if self.kind == "numeric" else len(self.levels) + 2

    def feature_labels(self) -> list[str]:
        """Readable names of the encoded features (for importance and debugging)."""
        if self.kind == "numeric":
            return [self.name]
        if self.kind == "mixed":
            return [
                self.name,
                *(f"{self.name}={lv}" for lv in (*self.levels, OTHER_LEVEL)),
            ]
        return [
            f"{self.name}={lv}" for lv in (*self.levels, OTHER_LEVEL, MISSING_LEVEL)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "levels": self.levels,
            "other_levels": self.other_levels,
            "declared": self.declared,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSpec:
        # Version 1 kept no rare levels (None: values without an indicator stay
        # "other", as such a model was trained) and had no declared kinds.
        other = data.get("other_levels")
        return cls(
            name=data["name"],
            kind=data["kind"],
            levels=list(data["levels"]),
            other_levels=None if other is None else list(other),
            declared=bool(data.get("declared", False)),
        )


@dataclass(frozen=True)
class TabularScores:
    """What :meth:`TabularCreditModel.score` returns.

    ``unseen``: per column, the values the training data never had (a new level or
    token, or a non-number in a column that held only numbers) with their counts;
    every one of them was scored as a missing value of its column.
    """

    predictions: pd.DataFrame
    unseen: dict[str, dict[str, int]]

    def unseen_summary(self, examples: int = 5) -> list[str]:
        """One line per column with unseen values, e.g. ``"3 unseen values in column
        'region' treated as missing: 'mars' ×2, 'venus' ×1"``."""
        lines = []
        for column, counts in self.unseen.items():
            total = sum(counts.values())
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{value!r} ×{n}" for value, n in ranked[:examples])
            more = (
                f", … ({len(ranked) - examples} more)" if len(ranked) > examples else ""
            )
            noun = "value" if total == 1 else "values"
            lines.append(
                f"{total} unseen {noun} in column '{column}' treated as missing: "
                f"{shown}{more}"
            )
        return lines


# --------------------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------------------


def _text(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Stripped string values (object array) and a missing mask.

    Blank cells count as missing, so ``" "`` and an empty field mean the same thing.
    """
    obj = series.astype(object)
    missing = obj.isna().to_numpy()
    stripped = obj.where(missing, obj.astype(str).str.strip()).to_numpy(
        dtype=object, copy=True
    )
    missing = missing | (stripped == "")
    stripped[missing] = None
    return stripped, missing


def _parse_numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, missing, bad)``: floats (NaN where missing/bad) and two masks.

    ``bad`` marks present values that are not finite numbers; infinities are bad too,
    because xgboost rejects them and they never mean an amount in a credit file.
    """
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(values)
        bad = np.isinf(values)
    else:
        text, missing = _text(series)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = pd.to_numeric(text, errors="coerce").astype(float)
        bad = ~missing & ~np.isfinite(values)
    values = values.copy()
    values[bad] = np.nan
    return values, missing, bad


def _display(series: pd.Series) -> np.ndarray:
    """Values as shown in a reason: the input text, or ``"missing"``."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.astype(object).to_numpy()
        missing = pd.isna(values)
        out = np.array([str(v) for v in values], dtype=object)
    else:
        out, missing = _text(series)
    out = out.copy()
    out[missing] = "missing"
    return out


def _bad_value_error(
    column: str, bad: np.ndarray, series: pd.Series, why: str
) -> TabularDataError:
    row = int(np.flatnonzero(bad)[0])
    value = series.iloc[row]
    return TabularDataError(
        f"column '{column}': value {str(value).strip()!r} in data row {row + 1} "
        f"(1-based, header not counted) is not a number; {why}. "
        "Fix or blank the value."
    )


def _check_unique_columns(frame: pd.DataFrame) -> None:
    dupes = frame.columns[frame.columns.duplicated()].unique().tolist()
    if dupes:
        raise TabularDataError(
            f"duplicate column name(s): {', '.join(map(str, dupes))}"
        )


# --------------------------------------------------------------------------------------
# Column types
# --------------------------------------------------------------------------------------

#: The inference rules, as the model card states them.
COLUMN_RULES: dict[str, str] = {
    "numeric": "every non-missing value is a finite number: one float feature, "
    "missing as NaN",
    "mixed": f"at least {MIXED_NUMERIC_SHARE:.0%} of the non-missing values are "
    f"numbers: the numbers as one float feature (NaN on the other rows), and an "
    f"indicator for each of the {MAX_TOKENS} most frequent non-numeric tokens, "
    "rarer tokens pooled as 'other'; a token is not given a number, its effect is "
    "learned",
    "text": f"otherwise, or declared categorical: one-hot over the {MAX_LEVELS} most "
    "frequent levels, plus 'other' (rarer levels) and 'missing' indicators",
    "declared numeric": "a column declared numeric (--numeric) must hold numbers "
    "only, else nothing is trained",
    "unseen at scoring": "a value the training data did not have (new level or "
    "token, or a non-number in a numeric column) is scored as missing and counted",
}


def _ranked(values: np.ndarray) -> list[tuple[str, int]]:
    """Distinct values with their counts, most frequent first, ties by value (so
    the encoding is deterministic)."""
    counts = pd.Series(values, dtype=object).value_counts(sort=False)
    return sorted(
        ((str(value), int(n)) for value, n in counts.items()),
        key=lambda item: (-item[1], item[0]),
    )


def infer_column(
    name: str,
    series: pd.Series,
    declared: Literal["numeric", "categorical"] | None = None,
) -> tuple[ColumnSpec, dict[str, Any]]:
    """How to encode one column (see the module docstring), and its profile for the
    model card: the treatment, why, the share of numbers and the tokens seen.

    Raises :class:`TabularDataError` for a column that is constant (missing counts
    as a value of its own: a "yes"/blank flag is informative) or that is declared
    numeric and holds a value that is not a number.
    """
    values, missing, bad = _parse_numbers(series)
    present = int((~missing).sum())
    if present == 0:
        raise TabularDataError(
            f"column '{name}' is constant: every value is missing; remove it"
        )
    n_tokens = int(bad.sum())
    share = (present - n_tokens) / present
    if declared == "numeric" and n_tokens:
        raise _bad_value_error(
            name,
            bad,
            series,
            f"{share:.1%} of the column's values are numbers and the column is "
            "declared numeric (--numeric)",
        )
    profile: dict[str, Any] = {}
    if declared != "categorical" and n_tokens == 0:
        spec = ColumnSpec(name, "numeric", declared=declared == "numeric")
        distinct = int(np.unique(values[~missing]).size)
        why = "every non-missing value is a number" + (
            "; declared numeric (--numeric)" if declared else ""
        )
    elif declared != "categorical" and share >= MIXED_NUMERIC_SHARE:
        tokens = _ranked(_text(series)[0][bad])
        kept, rare = tokens[:MAX_TOKENS], tokens[MAX_TOKENS:]
        spec = ColumnSpec(name, "mixed", [t for t, _ in kept], [t for t, _ in rare])
        distinct = int(np.unique(values[~missing & ~bad]).size) + len(tokens)
        why = (
            f"{share:.1%} of the non-missing values are numbers (at least "
            f"{MIXED_NUMERIC_SHARE:.0%}): kept as a number; the other {n_tokens} "
            f"are {len(tokens)} distinct non-numeric token(s), "
            + (
                "each with an indicator of its own"
                if not rare
                else f"the {MAX_TOKENS} most frequent with an indicator of their "
                f"own, {len(rare)} rarer ones pooled as 'other'"
            )
        )
        profile = {"tokens": dict(kept), "distinct_tokens": len(tokens)}
    else:
        levels = _ranked(_text(series)[0][~missing])
        kept, rare = levels[:MAX_LEVELS], levels[MAX_LEVELS:]
        spec = ColumnSpec(
            name,
            "text",
            [level for level, _ in kept],
            [level for level, _ in rare],
            declared=declared == "categorical",
        )
        distinct = len(levels)
        if declared:
            why = "declared categorical (--categorical)"
        elif n_tokens == present:
            why = "no value is a number"
        else:
            why = (
                f"only {share:.1%} of the non-missing values are numbers (below "
                f"{MIXED_NUMERIC_SHARE:.0%})"
            )
        why += f"; {len(levels)} distinct level(s)" + (
            f", the {MAX_LEVELS} most frequent one-hot, {len(rare)} rarer ones "
            "pooled as 'other'"
            if rare
            else ", each one-hot"
        )
        profile = {"distinct_levels": len(levels), "levels_kept": len(kept)}
    if distinct + int(missing.any()) <= 1:
        shown = _display(series)[0]
        raise TabularDataError(
            f"column '{name}' is constant: every row is {shown!r}; remove it"
        )
    return spec, {
        "name": name,
        "kind": spec.kind,
        "treatment": TREATMENTS[spec.kind],
        "why": why,
        "declared": declared,
        "missing": int(missing.sum()),
        "numeric_share": round(share, 4),
        **profile,
    }


def _level_codes(
    col: ColumnSpec, text: np.ndarray, missing: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Indicator positions of a categorical column's values (levels, then "other",
    then "missing"), and the unseen values, which get the "missing" position."""
    index = {level: i for i, level in enumerate(col.levels)}
    other, missing_code = len(col.levels), len(col.levels) + 1
    mapped = pd.Series(text, dtype=object).map(index).to_numpy(dtype=float)
    absent = ~missing & np.isnan(mapped)
    codes = np.where(np.isnan(mapped), other, mapped).astype(np.int64)
    codes[missing] = missing_code
    new: list[str] = []
    if col.other_levels is not None and absent.any():
        where = np.flatnonzero(absent)
        known = pd.Series(text[where], dtype=object).isin(col.other_levels).to_numpy()
        codes[where[~known]] = missing_code
        new = [str(v) for v in text[where[~known]]]
    return codes, new


def _token_codes(col: ColumnSpec, tokens: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Token indicator positions of a mixed column's non-numeric values (its tokens,
    then "other"); -1 for an unseen token, which keeps no indicator (as missing)."""
    index = {token: i for i, token in enumerate(col.levels)}
    mapped = pd.Series(tokens, dtype=object).map(index).to_numpy(dtype=float)
    absent = np.isnan(mapped)
    codes = np.where(absent, len(col.levels), mapped).astype(np.int64)
    new: list[str] = []
    if col.other_levels is not None and absent.any():
        where = np.flatnonzero(absent)
        known = pd.Series(tokens[where], dtype=object).isin(col.other_levels)
        unseen = where[~known.to_numpy()]
        codes[unseen] = -1
        new = [str(v) for v in tokens[unseen]]
    return codes, new


# --------------------------------------------------------------------------------------
# Target
# --------------------------------------------------------------------------------------


def _float_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def target_vector(frame: pd.DataFrame, target: str, bad_value: str) -> np.ndarray:
    """1 where the target equals ``bad_value``, else 0.

    The comparison is textual after stripping (``--bad yes`` matches ``" yes"``) unless
    the whole column is numeric and ``bad_value`` is a number, in which case it is
    numeric — so ``--bad 1`` matches ``1``, ``1.0`` and ``01``.
    """
    if target not in frame.columns:
        raise TabularDataError(
            f"target column '{target}' is not in the data (columns: "
            f"{', '.join(map(str, frame.columns[:30]))}"
            f"{', …' if len(frame.columns) > 30 else ''})"
        )
    series = frame[target]
    text, missing = _text(series)
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise TabularDataError(
            f"target column '{target}' is empty in data row {row} "
            f"({int(missing.sum())} rows in all); drop unlabelled rows first"
        )
    bad_text = str(bad_value).strip()
    values, _, not_number = _parse_numbers(series)
    bad_number = _float_or_none(bad_text)
    if bad_number is not None and not not_number.any():
        y = values == bad_number
    else:
        y = text.astype(str) == bad_text
    n_bad = int(y.sum())
    if n_bad in (0, len(y)):
        seen = pd.Series(text.astype(str)).value_counts().index[:10].tolist()
        raise TabularDataError(
            f"target column '{target}' has only one class: {n_bad} of {len(y)} rows "
            f"equal the bad value {bad_text!r} (values seen: {', '.join(seen)})"
        )
    return y.astype(np.int32)


# --------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


class TabularCreditModel:
    """An xgboost credit model with its preprocessing, calibration and scale.

    Use :meth:`fit` then :meth:`save`, and :meth:`load` then :meth:`predict`.
    """

    def __init__(self) -> None:
        self.columns: list[ColumnSpec] = []
        self.target: str = ""
        self.bad_value: str = ""
        self.id_column: str | None = None
        self.monotone: dict[str, int] = {}
        self.booster: xgb.Booster | None = None
        self.calibration: dict[str, Any] = {}
        self.scale: PointsScale | None = None
        self.card: dict[str, Any] = {}
        self.nthread: int = 1
        # Out-of-fold validation data from fit(), for the report written by save().
        self._validation: dict[str, Any] | None = None

    # ---- preprocessing ---------------------------------------------------------------

    def _infer_columns(
        self,
        frame: pd.DataFrame,
        declared: dict[str, Literal["numeric", "categorical"]],
    ) -> tuple[list[ColumnSpec], list[dict[str, Any]]]:
        """Each feature column's encoding and its profile for the model card."""
        skip = {self.target, self.id_column}
        specs, profiles = [], []
        for name in frame.columns:
            if name in skip:
                continue
            spec, profile = infer_column(str(name), frame[name], declared.get(name))
            specs.append(spec)
            profiles.append(profile)
        if not specs:
            raise TabularDataError(
                "no feature columns left after removing the target and id columns"
            )
        return specs, profiles

    def _validate_declared(
        self,
        frame: pd.DataFrame,
        numeric: Iterable[str] | None,
        categorical: Iterable[str] | None,
    ) -> dict[str, Literal["numeric", "categorical"]]:
        """``{column: kind}`` of the columns the user declared; each must be a
        feature column of the data, and in one list only."""
        declared: dict[str, Literal["numeric", "categorical"]] = {}
        lists: tuple[tuple[Literal["numeric", "categorical"], Iterable[str]], ...] = (
            ("numeric", numeric or ()),
            ("categorical", categorical or ()),
        )
        for kind, names in lists:
            for name in names:
                if name in declared and declared[name] != kind:
                    raise TabularDataError(
                        f"column '{name}' is declared both numeric and categorical"
                    )
                if name not in frame.columns:
                    raise TabularDataError(
                        f"{kind} column '{name}' (--{kind}) is not in the data"
                    )
                if name in (self.target, self.id_column):
                    role = "target" if name == self.target else "id"
                    raise TabularDataError(
                        f"{kind} column '{name}' (--{kind}) is the {role} column, "
                        "not a feature"
                    )
                declared[name] = kind
        return declared

    def _check_columns_present(self, frame: pd.DataFrame) -> None:
        absent = [c.name for c in self.columns if c.name not in frame.columns]
        if absent:
            raise TabularDataError(
                f"column(s) used in training are missing from the data: "
                f"{', '.join(repr(a) for a in absent)}"
            )

    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Encoded float32 feature matrix (what xgboost sees anyway)."""
        return self._encode_counting(frame)[0]

    def _encode_counting(
        self, frame: pd.DataFrame
    ) -> tuple[np.ndarray, dict[str, dict[str, int]]]:
        """The encoded matrix and, per column, the unseen values scored as missing.

        Missing is encoded as in training: NaN in a numeric feature (a mixed
        column's token indicators stay 0), the "missing" indicator of a categorical
        column; an unseen value gets exactly that encoding.
        """
        _check_unique_columns(frame)
        self._check_columns_present(frame)
        n = len(frame)
        width = sum(c.width for c in self.columns)
        X = np.zeros((n, width), dtype=np.float32)
        unseen: dict[str, dict[str, int]] = {}
        j = 0
        rows = np.arange(n)
        for col in self.columns:
            series = frame[col.name]
            if col.kind == "text":
                text, missing = _text(series)
                codes, new = _level_codes(col, text, missing)
                X[rows, j + codes] = 1.0
            else:
                values, _, bad = _parse_numbers(series)
                if bad.any() and col.kind == "numeric" and col.declared:
                    raise _bad_value_error(
                        col.name,
                        bad,
                        series,
                        "the column was declared numeric (--numeric) when the model "
                        "was trained",
                    )
                X[:, j] = values  # NaN where missing or not a number
                new = []
                if bad.any():
                    tokens = _text(series)[0][bad]
                    if col.kind == "numeric":
                        new = list(tokens)
                    else:
                        codes, new = _token_codes(col, tokens)
                        hit = codes >= 0
                        X[np.flatnonzero(bad)[hit], j + 1 + codes[hit]] = 1.0
            if new:
                counts = pd.Series(new, dtype=object).value_counts(sort=False)
                unseen[col.name] = {str(k): int(v) for k, v in counts.items()}
            j += col.width
        return X, unseen

    def _group_starts(self) -> np.ndarray:
        widths = [c.width for c in self.columns]
        return np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)

    def _dmatrix(self, X: np.ndarray, y: np.ndarray | None = None) -> xgb.DMatrix:
        return xgb.DMatrix(X, label=y, missing=np.nan, nthread=self.nthread)

    def _monotone_vector(self) -> str:
        signs = []
        for col in self.columns:
            signs += [self.monotone.get(col.name, 0)] * col.width
        return "(" + ",".join(str(s) for s in signs) + ")"

    def _validate_monotone(self, monotone: dict[str, int] | None) -> dict[str, int]:
        kinds = {c.name: c.kind for c in self.columns}
        out: dict[str, int] = {}
        for name, sign in (monotone or {}).items():
            if name not in kinds:
                raise TabularDataError(
                    f"monotone column '{name}' is not a feature column of the data"
                )
            if kinds[name] == "mixed":
                raise TabularDataError(
                    f"monotone column '{name}' mixes numbers with non-numeric tokens "
                    "and a constraint cannot order the tokens; clean the values and "
                    "declare the column numeric (--numeric), or drop the constraint"
                )
            if kinds[name] != "numeric":
                raise TabularDataError(
                    f"monotone column '{name}' is not numeric; constraints apply to "
                    "numeric columns only"
                )
            if isinstance(sign, bool) or sign not in (-1, 1):
                raise TabularDataError(
                    f"monotone sign of column '{name}' must be 1 or -1, got {sign!r}"
                )
            out[name] = int(sign)
        return out

    # ---- training --------------------------------------------------------------------

    def fit(
        self,
        frame: pd.DataFrame,
        *,
        target: str,
        bad_value: str,
        id_column: str | None = None,
        monotone: dict[str, int] | None = None,
        numeric: Iterable[str] | None = None,
        categorical: Iterable[str] | None = None,
        seed: int,
        nthread: int,
        progress: bool = False,
        params: dict[str, Any] | None = None,
        training: dict[str, Any] | None = None,
        name: str | None = None,
        data_sha256: str | None = None,
    ) -> TabularCreditModel:
        """Train on ``frame`` (raw values, e.g. a CSV read with ``dtype=str``).

        ``params`` overrides xgboost parameters of :data:`DEFAULT_PARAMS`,
        ``training`` the round/fold settings of :data:`DEFAULT_TRAINING`;
        ``data_sha256`` (of the CSV bytes) is recorded in the model card;
        ``numeric`` / ``categorical`` declare the kind of those columns instead of
        inferring it. Raises :class:`TabularDataError` naming the offending column.
        """
        if len(frame) == 0:
            raise TabularDataError("the data has no rows")
        _check_unique_columns(frame)
        self.target, self.bad_value = str(target), str(bad_value).strip()
        self.id_column = id_column
        self.nthread = int(nthread)
        y = target_vector(frame, self.target, self.bad_value)
        if id_column is not None and id_column not in frame.columns:
            raise TabularDataError(f"id column '{id_column}' is not in the data")
        declared = self._validate_declared(frame, numeric, categorical)
        self.columns, profiles = self._infer_columns(frame, declared)
        self.monotone = self._validate_monotone(monotone)
        cfg = {**DEFAULT_TRAINING, **(training or {})}
        minority = int(min(y.sum(), len(y) - y.sum()))
        folds = min(int(cfg["folds"]), minority)
        if folds < 2:
            raise TabularDataError(
                f"target column '{self.target}' needs at least 2 rows of each class, "
                f"has {minority} of the rarer one"
            )
        xgb_params = {
            **DEFAULT_PARAMS,
            **(params or {}),
            "seed": int(seed),
            "nthread": self.nthread,
            "verbosity": 0,
        }
        if self.monotone:
            xgb_params["monotone_constraints"] = self._monotone_vector()

        X = self._encode(frame)
        oof, best_rounds = self._cross_fit(X, y, xgb_params, cfg, folds, seed, progress)
        n_rounds = max(
            1, round(float(np.mean(best_rounds)) * cfg["refit_round_factor"])
        )
        callbacks = [ProgressBar(n_rounds, "final model")] if progress else []
        self.booster = xgb.train(
            xgb_params,
            self._dmatrix(X, y),
            num_boost_round=n_rounds,
            callbacks=callbacks,
        )
        self.calibration = fit_platt(oof, y).to_dict()
        self.calibration["fitted_on"] = f"out-of-fold margins ({folds}-fold)"
        self.scale = PointsScale.from_settings()

        pd_oof = self._calibrate(oof)
        scores = self.scale.score(pd_oof)
        grades = self.scale.grade(scores)
        order = self.scale.grade_names()
        metrics = m.summary(y, pd_oof, grades, order)
        importance = self.feature_importance()
        self._validation = {
            "y": y,
            "pd": pd_oof,
            "scores": scores,
            "grades": grades,
            "importance": importance,
        }
        self.card = {
            "name": name or f"tabular-{self.target}",
            "kind": "tabular-xgboost",
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": len(y),
            "bads": int(y.sum()),
            "bad_rate": round(float(y.mean()), 6),
            "target": self.target,
            "bad_value": self.bad_value,
            "id_column": self.id_column,
            # Per column: the treatment applied and why (share of numbers, tokens).
            "features": profiles,
            "column_rules": COLUMN_RULES,
            "encoded_features": int(X.shape[1]),
            "monotone": self.monotone,
            "training_data_sha256": data_sha256,
            "hyperparameters": {
                **{k: v for k, v in xgb_params.items() if k != "monotone_constraints"},
                **cfg,
                "folds": folds,
            },
            "best_iteration": round(float(np.mean(best_rounds))) - 1,
            "fold_best_rounds": best_rounds,
            "n_rounds": n_rounds,
            "calibration": self.calibration,
            "scale": self.scale.to_dict(),
            "validation": (
                f"out-of-fold predictions of {folds} models, each early-stopped on its "
                f"held-out stratified fold (1/{folds} of the training rows), after "
                "Platt calibration"
            ),
            "metrics": metrics,
            "feature_importance": {k: round(v, 6) for k, v in importance.items()},
            "xgboost_version": xgb.__version__,
        }
        # The same in one line per column, for the report and the command's summary.
        self.card["column_treatments"] = {
            p["name"]: f"{p['treatment']} — {p['why']}" for p in profiles
        }
        return self

    def _cross_fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        xgb_params: dict[str, Any],
        cfg: dict[str, Any],
        folds: int,
        seed: int,
        progress: bool,
    ) -> tuple[np.ndarray, list[int]]:
        """Out-of-fold margins and best round counts of one model per fold.

        Each fold's model is early-stopped on the fold it does not train on, so its
        margins there are honest material for calibration and validation metrics.
        """
        splitter = StratifiedKFold(
            n_splits=folds, shuffle=True, random_state=int(seed) % 2**32
        )
        oof = np.zeros(len(y), dtype=float)
        best_rounds: list[int] = []
        for k, (tr, va) in enumerate(splitter.split(X, y), start=1):
            dtrain, dvalid = self._dmatrix(X[tr], y[tr]), self._dmatrix(X[va], y[va])
            callbacks = (
                [ProgressBar(cfg["max_rounds"], f"fold {k}/{folds}")]
                if progress
                else []
            )
            booster = xgb.train(
                xgb_params,
                dtrain,
                num_boost_round=int(cfg["max_rounds"]),
                evals=[(dvalid, "valid")],
                early_stopping_rounds=int(cfg["early_stopping_rounds"]),
                verbose_eval=False,
                callbacks=callbacks,
            )
            rounds = int(booster.best_iteration) + 1
            best_rounds.append(rounds)
            oof[va] = booster.predict(
                dvalid, output_margin=True, iteration_range=(0, rounds)
            )
        return oof, best_rounds

    def _calibrate(self, margin: np.ndarray) -> np.ndarray:
        return Platt.from_dict(self.calibration).pd(margin)

    def feature_importance(self) -> dict[str, float]:
        """Share of the total split gain per original column (sums to 1)."""
        assert self.booster is not None
        gains = self.booster.get_score(importance_type="total_gain")
        owner = [c.name for c in self.columns for _ in range(c.width)]
        totals = dict.fromkeys((c.name for c in self.columns), 0.0)
        for key, gain in gains.items():
            # Scalar for tree models (a list only for linear boosters).
            totals[owner[int(key.lstrip("f"))]] += float(np.sum(gain))
        grand = sum(totals.values()) or 1.0
        return {k: v / grand for k, v in totals.items()}

    # ---- scoring ---------------------------------------------------------------------

    def margin(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw log-odds of bad from the trees (before calibration)."""
        assert self.booster is not None, "fit() or load() first"
        return self.booster.predict(
            self._dmatrix(self._encode(frame)), output_margin=True
        ).astype(float)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Exact per-column contributions to the margin, plus a ``bias`` column.

        Each row sums to :meth:`margin`; one-hot features are added back to the
        column they came from.
        """
        assert self.booster is not None, "fit() or load() first"
        raw = self.booster.predict(
            self._dmatrix(self._encode(frame)), pred_contribs=True
        ).astype(float)
        per_column = np.add.reduceat(raw[:, :-1], self._group_starts(), axis=1)
        out = pd.DataFrame(
            per_column, columns=[c.name for c in self.columns], index=frame.index
        )
        out["bias"] = raw[:, -1]
        return out

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """PD, score, grade and four reasons per row, in input order and index."""
        return self.score(frame).predictions

    def score(self, frame: pd.DataFrame) -> TabularScores:
        """:meth:`predict`'s rows, with the unseen values scored as missing."""
        assert self.booster is not None and self.scale is not None
        # Encode (and validate) everything first so an error names the row of the
        # whole file; then score in chunks so the n × features contribution matrix
        # stays small on big files.
        X, unseen = self._encode_counting(frame)
        n = len(frame)
        margin = np.zeros(n, dtype=float)
        per_column = np.zeros((n, len(self.columns)), dtype=float)
        starts = self._group_starts()
        for lo in range(0, n, PREDICT_CHUNK):
            dmatrix = self._dmatrix(X[lo : lo + PREDICT_CHUNK])
            # PD from the margin itself, not from the sum of contributions: the sum
            # can differ in the last float bit, which would break monotonicity.
            margin[lo : lo + PREDICT_CHUNK] = self.booster.predict(
                dmatrix, output_margin=True
            )
            raw = self.booster.predict(dmatrix, pred_contribs=True)
            per_column[lo : lo + PREDICT_CHUNK] = np.add.reduceat(
                raw[:, :-1], starts, axis=1
            )
        pd_ = self._calibrate(margin)
        scores = self.scale.score(pd_)
        out = pd.DataFrame(
            {"pd": pd_, "score": scores, "grade": self.scale.grade(scores)},
            index=frame.index,
        )
        reasons = self._reasons(frame, per_column)
        for k, name in enumerate(REASON_COLUMNS):
            out[name] = reasons[:, k]
        return TabularScores(out, unseen)

    def _reasons(self, frame: pd.DataFrame, per_column: np.ndarray) -> np.ndarray:
        """``"column=value"`` for the four largest positive contributions per row.

        Values are rendered only for the (row, column) pairs that are reasons, which
        keeps this cheap on wide files.
        """
        n, width = per_column.shape
        k = min(N_REASONS, width)
        # Largest contribution first; ties keep the column order.
        top = np.argsort(-per_column, axis=1, kind="stable")[:, :k]
        positive = np.take_along_axis(per_column, top, axis=1) > 0
        out = np.full((n, N_REASONS), "", dtype=object)
        for j in np.unique(top[positive]):
            name = self.columns[int(j)].name
            hit = (top == j) & positive
            rows = np.flatnonzero(hit.any(axis=1))
            shown = _display(frame[name].iloc[rows])
            texts = np.array([f"{name}={v}" for v in shown], dtype=object)
            for slot in range(k):
                r = np.flatnonzero(hit[:, slot])
                out[r, slot] = texts[np.searchsorted(rows, r)]
        return out

    # ---- persistence -----------------------------------------------------------------

    def _preprocess_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "target": self.target,
            "bad_value": self.bad_value,
            "id_column": self.id_column,
            "monotone": self.monotone,
            "monotone_convention": "1: a higher value can only raise the PD; -1: only lower it",
            "max_levels": MAX_LEVELS,
            "max_tokens": MAX_TOKENS,
            "columns": [c.to_dict() for c in self.columns],
            "encoded_features": [
                label for c in self.columns for label in c.feature_labels()
            ],
        }

    def save(self, directory: Path) -> Path:
        """Write the model, its preprocessing, calibration, scale, card and report."""
        assert self.booster is not None and self.scale is not None
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / MODEL_FILE))
        _write_json(directory / PREPROCESS_FILE, self._preprocess_dict())
        _write_json(directory / CALIBRATION_FILE, self.calibration)
        _write_json(directory / SCALE_FILE, self.scale.to_dict())
        _write_json(directory / CARD_FILE, self.card)
        if self._validation is not None:
            v = self._validation
            write_report(
                directory,
                title=f"Credit model {self.card.get('name', '')} — validation report",
                y_true=v["y"],
                pd=v["pd"],
                scores=v["scores"],
                grades=v["grades"],
                feature_importance=v["importance"],
                metrics=self.card["metrics"],
                extra={
                    key: self.card.get(key)
                    for key in (
                        "created_at",
                        "rows",
                        "bad_rate",
                        "target",
                        "bad_value",
                        "validation",
                        "n_rounds",
                        "fold_best_rounds",
                        "monotone",
                        "column_treatments",
                        "calibration",
                        "hyperparameters",
                        "training_data_sha256",
                    )
                },
            )
        return directory

    @classmethod
    def load(cls, directory: Path, *, nthread: int | None = None) -> TabularCreditModel:
        """Read a model written by :meth:`save`.

        Raises ``FileNotFoundError`` naming the directory or the missing file.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"model directory {directory} does not exist")
        for name in REQUIRED_FILES:
            if not (directory / name).is_file():
                raise FileNotFoundError(
                    f"model directory {directory} has no {name} ({directory / name})"
                )
        pre = _read_json(directory / PREPROCESS_FILE)
        if pre.get("format_version") not in READABLE_FORMAT_VERSIONS:
            raise ValueError(
                f"{directory / PREPROCESS_FILE}: unsupported format_version "
                f"{pre.get('format_version')!r}"
            )
        model = cls()
        model.target = pre["target"]
        model.bad_value = pre["bad_value"]
        model.id_column = pre["id_column"]
        model.monotone = {k: int(v) for k, v in pre["monotone"].items()}
        model.columns = [ColumnSpec.from_dict(c) for c in pre["columns"]]
        model.calibration = _read_json(directory / CALIBRATION_FILE)
        model.scale = PointsScale.from_dict(_read_json(directory / SCALE_FILE))
        card = directory / CARD_FILE
        model.card = _read_json(card) if card.is_file() else {}
        if nthread is None:
            from django.conf import settings

            nthread = int(settings.SCORING_NTHREAD)
        model.nthread = nthread
        booster = xgb.Booster()
        booster.load_model(str(directory / MODEL_FILE))
        booster.set_param({"nthread": nthread})
        model.booster = booster
        return model


def _write_json(path: Path, data: Any) -> None:
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
        encoding="utf-8",
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes (recorded in the model card for provenance)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_monotone(spec: str | None) -> dict[str, int]:
    """``"a=1,b=-1"`` → ``{"a": 1, "b": -1}``; raises naming the bad item."""
    out: dict[str, int] = {}
    if not spec:
        return out
    items: Iterable[str] = (s.strip() for s in spec.split(","))
    for item in items:
        if not item:
            continue
        name, sep, sign = item.rpartition("=")
        name = name.strip()
        if not sep or not name:
            raise TabularDataError(
                f"--monotone item {item!r} is not of the form column=1 or column=-1"
            )
        try:
            value = int(sign.strip())
        except ValueError:
            raise TabularDataError(
                f"monotone sign of column '{name}' must be 1 or -1, got {sign.strip()!r}"
            ) from None
        out[name] = value
    return out


def parse_columns(spec: str | None, flag: str) -> list[str]:
    """``"a, b"`` → ``["a", "b"]`` (column names as the header spells them, blanks
    around commas ignored); raises naming ``flag`` when it names no column."""
    if spec is None:
        return []
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise TabularDataError(f"{flag} names no column: {spec!r}")
    return names


def read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV (optionally compressed) as text, the way the trainer expects it.

    Everything is read as strings (``dtype=str``) with pandas' usual missing markers,
    so column kinds are decided by the trainer's own rules, not by pandas' guesses; a
    UTF-8 byte-order mark is skipped and GB18030 (Excel's default for Chinese) is
    tried when the file is not UTF-8. Raises ``OSError``/``ValueError`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CSV file {path} does not exist")
    last_error: Exception | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=True, encoding=encoding)
        except UnicodeDecodeError as exc:
            last_error = exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise ValueError(f"cannot read CSV file {path}: {exc}") from exc
    raise ValueError(f"cannot decode CSV file {path}: {last_error}")
