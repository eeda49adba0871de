"""The demo model: trained on the synthetic generator, promoted, and the demo
enterprise scored with it (see ``manage.py seed_demo``)."""

from __future__ import annotations

from django.conf import settings

from borrowers.models import Enterprise
from borrowers.seed import DEMO_USCC
from scoring import services
from scoring.models import CreditScore, ModelVersion
from scoring.training import train_platform_model


def seed(*, model_enterprises: int = 1500, **options) -> list[str]:
    lines = []
    if not ModelVersion.objects.filter(is_champion=True).exists():
        model = train_platform_model(
            out=None,
            enterprises=model_enterprises,
            vintages=4,
            seed=settings.SCORING_SEED,
            nthread=settings.SCORING_NTHREAD,
            progress=False,
            promote=True,
        )
        oot = model.metrics["out_of_time"]
        lines.append(
            f"Demo model {model.version} trained and promoted "
            f"(out-of-time AUC {oot['auc']:.3f}, true-PD ceiling {oot['true_pd_auc']:.3f})"
        )
    enterprise = Enterprise.objects.get(uscc=DEMO_USCC)
    if not CreditScore.objects.filter(enterprise=enterprise).exists():
        score = services.enterprise_score(enterprise=enterprise)
        lines.append(f"Demo enterprise scored: {score.score:.0f} ({score.grade})")
    return lines
