"""A task sent through the real broker to a real worker process comes back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app, ping
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]


def _broker_reachable(url: str) -> bool:
    try:
        with app.connection_for_write(url) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@pytest.fixture
def celery_worker_process():
    broker = os.environ.get("CELERY_BROKER_URL", "")
    require_service(
        bool(broker), "CELERY_BROKER_URL is not set: no broker to test against"
    )
    require_service(
        _broker_reachable(broker), f"the broker at {broker} does not answer"
    )
    require_service(
        bool(settings.CELERY_RESULT_BACKEND), "no result backend (set REDIS_URL)"
    )
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--queues",
            queue,
            "--hostname",
            f"{queue}@%h",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    previous_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        app.conf.task_always_eager = previous_eager
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_task_sent_to_a_real_worker_on_the_broker_comes_back(celery_worker_process):
    payload = uuid.uuid4().hex
    started = time.monotonic()
    result = ping.apply_async(args=[payload], queue=celery_worker_process)
    value = result.get(timeout=60)
    assert value["payload"] == payload
    # The hostname proves a separate worker process ran it, not this test process.
    assert value["hostname"].startswith(f"{celery_worker_process}@")
    assert result.state == "SUCCESS"
    assert time.monotonic() - started < 60
