"""A real Celery worker process for tests that must not run tasks eagerly."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.celery import app
from devtools.celery_worker import running_worker, worker_command
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[1]


def broker_reachable(url: str) -> bool:
    try:
        with app.connection_for_write(url) as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def require_worker_services() -> str:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    require_service(
        bool(broker), "CELERY_BROKER_URL is not set: no broker to test against"
    )
    require_service(broker_reachable(broker), f"the broker at {broker} does not answer")
    require_service(
        bool(settings.CELERY_RESULT_BACKEND), "no result backend (set REDIS_URL)"
    )
    return broker


def test_database_url() -> str:
    """The URL of the database the tests use right now (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        user = db.get("USER") or "postgres"
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def worker_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a test worker: test settings on the test database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        **(extra_env or {}),
    }


@contextlib.contextmanager
def celery_worker(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``celery worker`` in a subprocess on a private queue; yield the queue name.

    The worker uses the test database, so it sees what a ``transactional_db`` test
    committed. It answers a ping before this yields; while it runs, tasks sent from
    this process are not executed eagerly. Started and stopped by the launcher the
    benchmark shares (``devtools.celery_worker``).
    """
    require_worker_services()
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = worker_env(extra_env)
    hostname = f"{queue}@%h"
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    with running_worker(
        worker_command(queue=queue, hostname=hostname, pool="solo"),
        env=env,
        control_app=app,
        hostname=hostname,
        cwd=ROOT,
        capture_output=True,
        stop_timeout=20,
    ):
        app.conf.task_always_eager = False
        app.conf.task_default_queue = queue
        try:
            yield queue
        finally:
            app.conf.task_always_eager, app.conf.task_default_queue = previous
