"""The Celery worker the benchmark scores on (``--workers``) and what it shares with
this process: the benchmark database, a broker and result store of its own, a queue.

Started and stopped by the launcher the tests use too (``devtools.celery_worker``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from .database import ROOT

# Overridable so that two people benchmarking on one machine do not share a queue.
BROKER_URL = os.environ.get("BENCH_CELERY_BROKER_URL", "redis://127.0.0.1:6379/5")
RESULTS_URL = os.environ.get("BENCH_CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/6")
QUEUE = "bench-scoring"
HOSTNAME = "bench@%h"


def worker_environment(url: str) -> dict[str, str]:
    """What this process and the worker it starts share: the benchmark database, a
    broker and result store of their own (Redis databases 5 and 6), one queue."""
    return {
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_RESULT_BACKEND": RESULTS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
    }


@contextmanager
def celery_worker(url: str, concurrency: int, nthread: int) -> Iterator[None]:
    """``celery worker`` (prefork, ``concurrency`` processes, each scoring with
    ``SCORING_NTHREAD=nthread``) on the benchmark queue, as production runs it;
    yields once it answers a ping; stopped (warm shutdown, killed after two minutes)
    afterwards. Call after ``database.configure`` with ``worker_environment`` in
    ``os.environ``: the ping goes through this process's Celery app."""
    from config.celery import app
    from devtools.celery_worker import running_worker, worker_command

    env = {
        **os.environ,
        **worker_environment(url),
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DJANGO_DEBUG": "false",
        "SCORING_NTHREAD": str(nthread),
    }
    command = worker_command(
        queue=QUEUE, hostname=HOSTNAME, pool="prefork", concurrency=concurrency
    )
    with running_worker(
        command,
        env=env,
        control_app=app,
        hostname=HOSTNAME,
        cwd=ROOT,
        ready_timeout=120,
        stop_timeout=120,
    ):
        yield
