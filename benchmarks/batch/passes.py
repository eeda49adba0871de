"""What the benchmark times: the features refresh, end to end (in this process or on
a Celery worker) and raw xgboost on the matrix end to end scored."""

from __future__ import annotations

import time

from .database import AS_OF, clear_scores, watermarks
from .stages import StageTimer


def refresh_features(ids: list[int], chunk: int, *, again: bool) -> None:
    """Store every enterprise's features as of ``AS_OF`` (what each pull does for its
    enterprise), unless they are already stored; timed, not part of end to end."""
    from django.db import connection

    from scoring import services
    from scoring.features import FEATURE_SET
    from scoring.models import FeatureVector

    stored = FeatureVector.objects.filter(as_of=AS_OF, feature_set_id=FEATURE_SET)
    if not again and stored.count() == len(ids):
        print(f"features: reusing {len(ids):,} stored vectors as of {AS_OF}")
        return
    if "bench" not in connection.settings_dict["NAME"]:
        raise SystemExit("refusing to delete vectors outside a benchmark database")
    clear_scores()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE scoring_creditscore, scoring_featurevector")
    started = time.perf_counter()
    for offset in range(0, len(ids), chunk):
        services.features_refresh(
            enterprise_ids=ids[offset : offset + chunk], as_of=AS_OF
        )
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scoring_featurevector")
    print(
        f"features: computed and stored {len(ids):,} vectors (records read, features, "
        f"vector + access-log rows written) in {elapsed:,.1f} s, "
        f"{len(ids) / elapsed:,.0f} enterprises/s"
    )


def end_to_end(model, ids: list[int], chunk: int, timer: StageTimer) -> dict:
    from borrowers.models import DataAccessLog
    from scoring import services
    from scoring.models import CreditScore

    services.load_model(model)  # a worker loads it once, before its first chunk
    before = watermarks()
    timer.reset()
    scored = 0
    started = time.perf_counter()
    for offset in range(0, len(ids), chunk):
        scored += services.score_batch(
            enterprise_ids=ids[offset : offset + chunk], model=model, as_of=AS_OF
        )
    elapsed = time.perf_counter() - started
    written_scores = CreditScore.objects.filter(pk__gt=before[0]).count()
    written_logs = DataAccessLog.objects.filter(pk__gt=before[1]).count()
    return {
        "seconds": elapsed,
        "scored": scored,
        "credit_scores": written_scores,
        "access_logs": written_logs,
        "stages": dict(timer.totals),
        "watermarks": before,
    }


def end_to_end_on_workers(model, ids: list[int], chunk: int, concurrency: int) -> dict:
    """The same scoring as ``end_to_end``, through ``scoring.tasks.batch_score`` on a
    Celery worker with ``concurrency`` processes; timed from sending the chunks until
    every chunk's result is back. Each process first scores a small warm-up chunk (it
    loads the model once, as a worker does before its first chunk); those scores are
    removed before the timed pass."""
    from celery import group

    from scoring.models import CreditScore
    from scoring.tasks import batch_score, score_chunk

    warm_up = group(
        score_chunk.s(ids[i * 10 : (i + 1) * 10], model.pk, AS_OF.isoformat())
        for i in range(4 * concurrency)
    ).apply_async()
    warm_up.get(timeout=600)
    clear_scores()
    started = time.perf_counter()
    result = batch_score(ids, model=model, as_of=AS_OF, chunk_size=chunk)
    scored = sum(result.get(timeout=3600))
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "scored": scored,
        "credit_scores": CreditScore.objects.count(),
    }


def raw(model, matrix, repeat: int) -> list[float]:
    import xgboost as xgb
    from django.conf import settings

    from scoring import services

    loaded = services.load_model(model)
    booster, names = loaded.booster, list(loaded.feature_names)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        booster.inplace_predict(matrix, predict_type="margin")
        booster.predict(
            xgb.DMatrix(matrix, feature_names=names, nthread=settings.SCORING_NTHREAD),
            pred_contribs=True,
        )
        times.append(time.perf_counter() - started)
    return times
