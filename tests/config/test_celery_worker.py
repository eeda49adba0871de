"""A task sent through the real broker to a real worker process comes back."""

from __future__ import annotations

import uuid

from config.celery import ping
from tests.workers import celery_worker


def test_task_sent_to_a_real_worker_on_the_broker_comes_back():
    with celery_worker() as queue:
        payload = uuid.uuid4().hex
        result = ping.apply_async(args=[payload], queue=queue)
        value = result.get(timeout=60)
    assert value["payload"] == payload
    # The hostname proves a separate worker process ran it, not this test process.
    assert value["hostname"].startswith(f"{queue}@")
    assert result.state == "SUCCESS"
