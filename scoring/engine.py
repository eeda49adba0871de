"""Training primitives shared by the platform model and the generic tabular trainer.

* ``train_booster``: xgboost (``hist``) with monotone constraints, a fixed seed and
  thread count (so training is reproducible), early stopping on a validation set and
  an optional progress bar.
* Platt calibration on the raw margin: a logistic regression ``PD = σ(a·m + b)``.
  It is strictly increasing in the margin, so the ranking (and the AUC) of the model
  is unchanged while the PD becomes calibrated; scikit-learn 1.9 removed
  ``CalibratedClassifierCV(cv="prefit")``, and two numbers are easier to audit anyway.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xgboost as xgb
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

DEFAULT_PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "tree_method": "hist",
    "eta": 0.03,
    "max_depth": 3,
    "min_child_weight": 10,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 10.0,
}


class ProgressBar(xgb.callback.TrainingCallback):
    """A tqdm bar advancing once per boosting round."""

    def __init__(self, total: int, description: str) -> None:
        from tqdm import tqdm

        super().__init__()
        self.bar = tqdm(total=total, desc=description, unit="round", leave=False)

    def after_iteration(self, model, epoch, evals_log) -> bool:
        self.bar.update(1)
        return False

    def after_training(self, model):
        self.bar.close()
        return model


def train_booster(
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    *,
    feature_names: Sequence[str],
    monotone: Sequence[int] | None,
    seed: int,
    nthread: int,
    max_rounds: int = 2000,
    early_stopping: int = 100,
    params: dict | None = None,
    progress: bool = False,
) -> xgb.Booster:
    """A booster trained on ``train``, stopped at the best round on ``valid``."""
    settings = {**DEFAULT_PARAMS, **(params or {}), "seed": seed, "nthread": nthread}
    if monotone is not None and any(monotone):
        settings["monotone_constraints"] = (
            "(" + ",".join(str(int(c)) for c in monotone) + ")"
        )
    names = list(feature_names)
    dtrain = xgb.DMatrix(train[0], label=train[1], feature_names=names, nthread=nthread)
    dvalid = xgb.DMatrix(valid[0], label=valid[1], feature_names=names, nthread=nthread)
    callbacks = [ProgressBar(max_rounds, "xgboost")] if progress else []
    booster = xgb.train(
        settings,
        dtrain,
        num_boost_round=max_rounds,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=early_stopping,
        verbose_eval=False,
        callbacks=callbacks,
    )
    # Keep exactly the trees up to the best round: the saved model predicts what was
    # validated, with no iteration_range to remember.
    return booster[: booster.best_iteration + 1]


@dataclass(frozen=True)
class Platt:
    a: float
    b: float
    fallback: bool = False

    def pd(self, margin: np.ndarray) -> np.ndarray:
        return 1.0 / (
            1.0 + np.exp(-(self.a * np.asarray(margin, dtype=float) + self.b))
        )

    def to_dict(self) -> dict:
        return {
            "method": "platt_on_margin",
            "a": self.a,
            "b": self.b,
            "fallback": self.fallback,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Platt:
        return cls(
            a=float(data["a"]),
            b=float(data["b"]),
            fallback=bool(data.get("fallback", False)),
        )


def fit_platt(margin: np.ndarray, label: np.ndarray) -> Platt:
    """Fit ``PD = σ(a·margin + b)``. A non-positive slope would reverse the ranking; it
    only happens when the margins carry no signal, and then xgboost's own probability
    (a=1, b=0) is kept instead."""
    model = LogisticRegression(C=1e6, max_iter=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(np.asarray(margin, dtype=float).reshape(-1, 1), np.asarray(label))
    a, b = float(model.coef_[0][0]), float(model.intercept_[0])
    if not (a > 0 and math.isfinite(a) and math.isfinite(b)):
        return Platt(a=1.0, b=0.0, fallback=True)
    return Platt(a=a, b=b)


def margins_and_contributions(
    booster: xgb.Booster, matrix: np.ndarray, feature_names: Sequence[str], nthread: int
) -> tuple[np.ndarray, np.ndarray]:
    """Raw margins and exact per-feature contributions (last column: the bias)."""
    dmatrix = xgb.DMatrix(matrix, feature_names=list(feature_names), nthread=nthread)
    margin = booster.predict(dmatrix, output_margin=True)
    contributions = booster.predict(dmatrix, pred_contribs=True)
    return margin, contributions
