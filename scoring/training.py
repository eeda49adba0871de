"""Training the platform model on the synthetic generator, and registering it.

Out-of-time validation: the last vintage is never seen in training. The earlier
vintages are split 70/15/15 (stratified, seeded) into the booster's training set, the
early-stopping set and the calibration set. Metrics are computed on the out-of-time
vintage, next to the AUC of the generator's true PD on the same firms: the ceiling.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import xgboost as xgb
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from sklearn.model_selection import train_test_split

from scoring import metrics as metric_functions
from scoring.drift import reference_bins
from scoring.engine import Platt, fit_platt, train_booster
from scoring.features import FEATURE_NAMES, FEATURES, monotone_constraints
from scoring.models import ModelKind, ModelVersion
from scoring.report import write_report
from scoring.scale import PointsScale
from scoring.synthetic_sample import DEFAULT_VINTAGES, Sample, draw_sample


@dataclass
class TrainedModel:
    booster: xgb.Booster
    platt: Platt
    scale: PointsScale
    metrics: dict
    data_sha256: str
    summary: dict
    report_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def artifact(self) -> bytes:
        return bytes(self.booster.save_raw("ubj"))


def fit_platform_model(
    sample: Sample, *, seed: int, nthread: int, progress: bool = False
) -> TrainedModel:
    """Fit, calibrate and evaluate out of time; pure (no database)."""
    vintages = np.asarray(sample.vintage)
    test = vintages == vintages.max()
    features = sample.features[list(FEATURE_NAMES)].to_numpy(dtype=float)
    label = np.asarray(sample.label, dtype=int)
    development = np.flatnonzero(~test)
    train_index, rest = train_test_split(
        development, test_size=0.30, stratify=label[development], random_state=seed
    )
    stop_index, calibration_index = train_test_split(
        rest, test_size=0.50, stratify=label[rest], random_state=seed
    )
    booster = train_booster(
        (features[train_index], label[train_index]),
        (features[stop_index], label[stop_index]),
        feature_names=FEATURE_NAMES,
        monotone=monotone_constraints(),
        seed=seed,
        nthread=nthread,
        progress=progress,
    )

    def margin(rows: np.ndarray) -> np.ndarray:
        matrix = xgb.DMatrix(
            features[rows], feature_names=list(FEATURE_NAMES), nthread=nthread
        )
        return booster.predict(matrix, output_margin=True)

    platt = fit_platt(margin(calibration_index), label[calibration_index])
    scale = PointsScale.from_settings()
    test_index = np.flatnonzero(test)
    pd_test = platt.pd(margin(test_index))
    scores = scale.score(pd_test)
    grades = scale.grade(scores)
    oot = metric_functions.summary(label[test_index], pd_test, grades)
    oot["true_pd_auc"] = round(
        metric_functions.auc(label[test_index], sample.true_pd[test_index]), 6
    )
    oot["auc_gap_to_true_pd"] = round(oot["true_pd_auc"] - oot["auc"], 6)
    # One gain per feature from trees (xgboost's lists are for linear boosters only).
    importance = cast(dict[str, float], booster.get_score(importance_type="total_gain"))
    development_pd = platt.pd(margin(development))
    reference = {
        "features": {
            name: reference_bins(features[development, position])
            for position, name in enumerate(FEATURE_NAMES)
        },
        "score": reference_bins(scale.score(development_pd)),
    }
    summary = {
        "rows": len(label),
        "bad_rate": round(float(label.mean()), 6),
        "vintages": sorted({str(v) for v in vintages.astype("datetime64[D]")}),
        "test_vintage": str(vintages.max().astype("datetime64[D]")),
        "rows_train": len(train_index),
        "rows_early_stopping": len(stop_index),
        "rows_calibration": len(calibration_index),
        "rows_test": len(test_index),
        "best_iteration": int(booster.num_boosted_rounds()),
        "seed": seed,
        "nthread": nthread,
        "feature_importance": {
            k: round(v, 4) for k, v in sorted(importance.items(), key=lambda kv: -kv[1])
        },
        "reference": reference,
    }
    trained = TrainedModel(
        booster=booster,
        platt=platt,
        scale=scale,
        metrics={"out_of_time": oot},
        data_sha256=sample.data_hash(),
        summary=summary,
    )
    with tempfile.TemporaryDirectory() as directory:
        write_report(
            Path(directory),
            title="Xinyidai platform model — out-of-time validation",
            y_true=label[test_index],
            pd=pd_test,
            scores=scores,
            grades=grades,
            feature_importance=importance,
            metrics=oot,
            extra={
                "training": {
                    k: v
                    for k, v in summary.items()
                    if k not in ("feature_importance", "reference")
                }
            },
        )
        trained.report_files = {
            p.name: p.read_bytes() for p in Path(directory).iterdir()
        }
    return trained


def _version_name(trained: TrainedModel) -> str:
    digest = hashlib.sha256(trained.artifact).hexdigest()[:8]
    return f"{timezone.localdate():%Y.%m.%d}-{digest}"


@transaction.atomic
def register_model(trained: TrainedModel, *, out: Path | None = None) -> ModelVersion:
    """Store the artifact and report, and a registry row (not yet champion)."""
    artifact = trained.artifact
    version = _version_name(trained)
    existing = ModelVersion.objects.filter(version=version).first()
    if existing is not None:
        return existing
    folder = f"models/{version}"
    for name, content in trained.report_files.items():
        default_storage.save(f"{folder}/{name}", ContentFile(content))
    model = ModelVersion(
        version=version,
        kind=ModelKind.PLATFORM,
        artifact_sha256=hashlib.sha256(artifact).hexdigest(),
        features=[
            {
                "name": f.name,
                "direction": f.direction,
                "group": f.group,
                "label_zh": f.label_zh,
                "label_en": f.label_en,
            }
            for f in FEATURES
        ],
        monotone_constraints=list(monotone_constraints()),
        calibration=trained.platt.to_dict(),
        scale=trained.scale.to_dict(),
        training_data_sha256=trained.data_sha256,
        training_summary=trained.summary,
        metrics=trained.metrics,
    )
    model.artifact.save(f"{version}/model.ubj", ContentFile(artifact), save=False)
    model.report.name = (
        f"{folder}/report.html" if "report.html" in trained.report_files else ""
    )
    model.full_clean()
    model.save()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.ubj").write_bytes(artifact)
        for name, content in trained.report_files.items():
            (out / name).write_bytes(content)
    return model


def train_platform_model(
    *,
    out: str | None,
    enterprises: int,
    vintages: int,
    seed: int,
    nthread: int,
    progress: bool,
    promote: bool,
    stdout=None,
    user=None,
) -> ModelVersion:
    """``manage.py train_model`` without ``--csv``: synthetic sample → registry."""
    from scoring.services import model_promote

    if not 2 <= vintages <= len(DEFAULT_VINTAGES):
        raise ValueError(f"--vintages must be between 2 and {len(DEFAULT_VINTAGES)}")
    chosen = DEFAULT_VINTAGES[-vintages:]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="synthetic records", unit="chunk", leave=False)

    def tick(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    sample = draw_sample(
        enterprises_per_vintage=enterprises, vintages=chosen, progress=tick
    )
    if bar is not None:
        bar.close()
    trained = fit_platform_model(sample, seed=seed, nthread=nthread, progress=progress)
    target = Path(out) if out else None
    if target is not None and target.exists():
        shutil.rmtree(target)
    model = register_model(trained, out=target)
    if promote or not ModelVersion.objects.filter(is_champion=True).exists():
        model_promote(model=model, promoted_by=user)
        model.refresh_from_db()
    if stdout is not None:
        oot = trained.metrics["out_of_time"]
        stdout.write(
            f"model {model.version}: out-of-time AUC {oot['auc']:.4f} "
            f"(true-PD ceiling {oot['true_pd_auc']:.4f}), KS {oot['ks']:.4f}, "
            f"Brier {oot['brier']:.4f}, ECE {oot['ece']:.4f}; "
            f"champion: {'yes' if model.is_champion else 'no'}"
        )
    return model
