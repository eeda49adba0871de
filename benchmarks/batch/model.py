"""The model the benchmark scores with: the database's champion, or a new one."""

from __future__ import annotations

import time


def champion_model(*, retrain: bool):
    """The champion: reused if the database has one (unless ``retrain``), else trained
    on a synthetic sample, registered and promoted."""
    from django.conf import settings

    from scoring.models import ModelVersion
    from scoring.services import model_promote
    from scoring.synthetic_sample import draw_sample
    from scoring.training import fit_platform_model, register_model

    existing = ModelVersion.objects.filter(is_champion=True).first()
    if existing is not None and not retrain:
        print(f"model: reusing champion {existing.version}")
        return existing
    started = time.perf_counter()
    sample = draw_sample(enterprises_per_vintage=2000)
    trained = fit_platform_model(
        sample, seed=settings.SCORING_SEED, nthread=settings.SCORING_NTHREAD
    )
    model = model_promote(model=register_model(trained), promoted_by=None)
    print(
        f"model: trained {model.version} on {len(sample.label):,} rows "
        f"({trained.booster.num_boosted_rounds()} trees) in "
        f"{time.perf_counter() - started:,.0f} s"
    )
    return model
