"""The whole worker killed (``kill -9`` of its process group) mid-run, on PostgreSQL
with Redis and real workers: once a worker runs again, every job finishes, each
exactly once, within a minute, and every follow-up job ran.

The worker runs with a 20 s ceiling on task time (``CELERY_TASK_TIME_LIMIT``) and a
5 s margin, so the broker's visibility timeout is 25 s, derived as in production
(5 min + 60 s there): what the killed worker held comes back after it. A message the
killed worker had taken from Redis but not yet recorded as unacknowledged is lost by
the broker; the outbox sends it again (``core.jobs.outbox_resend_stuck``) once the
visibility timeout has passed with no worker marking it done.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest
import redis
from django.db.models import Count

from config.celery import app
from core import jobs
from core.models import JobCompletion, OutboxJob
from creditdata import services as creditdata_services
from creditdata.models import IngestionRun, IngestionStatus
from creditdata.synthetic import synthetic_uscc
from devtools.celery_worker import nodename, stop, wait_until_ready, worker_command
from scoring.models import CreditScore, FeatureVector
from scoring.tasks import score_chunk
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.scoring.conftest import champion, small_models  # noqa: F401 (fixtures)
from tests.workers import ROOT, require_worker_services, worker_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CEILING, MARGIN = 20, 5
WORKER_ENV = {
    "CELERY_TASK_TIME_LIMIT": str(CEILING),
    "CELERY_VISIBILITY_MARGIN_SECONDS": str(MARGIN),
}


def _start(queue: str, log) -> tuple[subprocess.Popen, str]:
    """A prefork worker of two processes, in a process group of its own (so that the
    whole worker, parent and children, can be killed at once)."""
    hostname = f"{queue}-{uuid.uuid4().hex[:6]}@%h"
    process = subprocess.Popen(
        worker_command(queue=queue, hostname=hostname, pool="prefork", concurrency=2),
        cwd=ROOT,
        env=worker_env(WORKER_ENV),
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_until_ready(process, control_app=app, node=nodename(hostname))
    return process, hostname


def _wait(predicate, timeout: float, what: str) -> float:
    """Wait for ``predicate``, running the outbox sweep every second as beat would
    (with this worker's visibility timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        jobs.outbox_sweep(stuck_seconds=CEILING + MARGIN + 1)
        time.sleep(1)
    raise AssertionError(f"{what}: not done after {timeout} s")


def test_whole_worker_killed_mid_run_then_all_40_jobs_finish_exactly_once(
    postgres,
    champion,  # noqa: F811
    tmp_path,
):
    broker = require_worker_services()
    # Twenty enterprises already pulled (eagerly, before any worker): their scoring
    # jobs. Twenty more under consent, never pulled: their pulls.
    to_score = []
    for number in range(20):
        enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(300 + number))
        grant(enterprise, owner)
        creditdata_services.ingestion_request(enterprise=enterprise, requested_by=owner)
        to_score.append(enterprise)
    to_pull = []
    for number in range(20):
        enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(400 + number))
        grant(enterprise, owner)
        to_pull.append((enterprise, owner))
    assert FeatureVector.objects.filter(enterprise__in=to_score).count() == 20
    # Their pulls scored them too (a score follows the data): start from none, so
    # each scoring job below makes exactly one.
    CreditScore.objects.all().delete()
    OutboxJob.objects.all().delete()

    queue = f"test-loss-{uuid.uuid4().hex[:8]}"
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    client = redis.Redis.from_url(broker)
    first = second = None
    try:
        first, _ = _start(queue, (tmp_path / "first.log").open("w"))
        for enterprise, owner in to_pull:
            creditdata_services.ingestion_request(
                enterprise=enterprise, requested_by=owner
            )
        for enterprise in to_score:
            jobs.enqueue(score_chunk, [enterprise.pk], champion.pk, None)
        # Killed while it runs: at least one job started, not all 40 done.
        _wait(
            lambda: (
                IngestionRun.objects.exclude(status=IngestionStatus.PENDING)
                .filter(enterprise__in=[e for e, _ in to_pull])
                .exists()
                or CreditScore.objects.exists()
            ),
            timeout=30,
            what="the first job starting",
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        held = client.hlen("unacked")
        done_at_kill = (
            IngestionRun.objects.filter(
                enterprise__in=[e for e, _ in to_pull],
                status=IngestionStatus.SUCCEEDED,
            ).count()
            + CreditScore.objects.count()
        )
        assert held >= 1, "the killed worker held no message: nothing was in flight"
        assert done_at_kill < 60  # 20 pulls, their 20 scores and 20 scoring jobs

        second, _ = _start(queue, (tmp_path / "second.log").open("w"))

        def all_done() -> bool:
            return (
                IngestionRun.objects.filter(
                    enterprise__in=[e for e, _ in to_pull],
                    status=IngestionStatus.SUCCEEDED,
                ).count()
                == 20
                and FeatureVector.objects.filter(
                    enterprise__in=[e for e, _ in to_pull]
                ).count()
                >= 20
                and CreditScore.objects.values("enterprise").distinct().count() == 40
            )

        elapsed = _wait(all_done, timeout=60, what="all 40 jobs and their follow-ups")
        # Every message the killed worker held has been given back and run again
        # (or skipped) before the counts are final.
        _wait(
            lambda: client.hlen("unacked") == 0 and client.llen(queue) == 0,
            timeout=60,
            what="the broker's queue and unacknowledged messages draining",
        )
        time.sleep(2)  # the last redelivered job's transaction
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
        for process in (first, second):
            if process is not None and process.poll() is None:
                stop(process, timeout=20)
        client.delete(queue)

    assert elapsed < 60
    pulled = [enterprise.pk for enterprise, _ in to_pull]
    runs = IngestionRun.objects.filter(enterprise__in=pulled)
    assert (
        sorted(runs.values_list("status", flat=True))
        == [IngestionStatus.SUCCEEDED] * 20
    )
    # One feature refresh and one score per pull, each run once; one score per
    # scoring job.
    per_enterprise = (
        FeatureVector.objects.filter(enterprise__in=pulled)
        .values("enterprise")
        .annotate(n=Count("pk"))
    )
    assert sorted(row["n"] for row in per_enterprise) == [1] * 20
    assert (
        OutboxJob.objects.filter(task="scoring.tasks.refresh_and_score").count() == 20
    )
    scores = CreditScore.objects.values("enterprise").annotate(n=Count("pk"))
    assert sorted(row["n"] for row in scores) == [1] * 40  # one per enterprise
    assert {row["enterprise"] for row in scores} == {e.pk for e in to_score} | set(
        pulled
    )
    # Every job (20 pulls, their 20 refresh-and-scores, 20 scores) is marked done,
    # once.
    assert JobCompletion.objects.count() == OutboxJob.objects.count() == 60
