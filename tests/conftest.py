"""Shared fixtures.

Services: a test that needs PostgreSQL, Redis or a Celery worker calls
``require_service(...)``. On a laptop without the service it skips with the reason;
in CI (``REQUIRE_SERVICES=1``) the same situation fails the run, so nothing that needs
a real service can silently skip there.
"""

from __future__ import annotations

import contextlib
import os

import pytest
from django.core.cache import cache
from django.db import connection

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def require_service(available: bool, reason: str) -> None:
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit counters and TOTP replay markers live in the cache: start clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language, whatever the previous one visited."""
    from django.utils import translation

    translation.activate("zh-hans")
    yield
    translation.deactivate()


@pytest.fixture
def postgres(db):
    """Skip (or fail under REQUIRE_SERVICES) unless the suite runs on PostgreSQL."""
    require_service(
        connection.vendor == "postgresql",
        "this test needs PostgreSQL (set DATABASE_URL=postgres://...)",
    )


@pytest.fixture
def eager_task_retries():
    """Run eager Celery retries instead of raising them; yield the task failures.

    With ``task_eager_propagates`` (the project's test setting) Celery raises ``Retry``
    out of ``apply()`` instead of re-running the task (celery/celery#4661). Without it
    the retry runs at once, synchronously, and an exception that escapes a task is
    stored in its EagerResult: it is collected here for the test to assert on.
    """
    from celery.signals import task_failure

    from config.celery import app

    failures: list[BaseException] = []

    def record(sender=None, exception=None, **kwargs):
        failures.append(exception)

    task_failure.connect(record, weak=False)
    previous, app.conf.task_eager_propagates = app.conf.task_eager_propagates, False
    try:
        yield failures
    finally:
        app.conf.task_eager_propagates = previous
        task_failure.disconnect(record)


UNREACHABLE_BROKER = "redis://127.0.0.1:9/0"  # the discard port: refused at once


@contextlib.contextmanager
def broker_unreachable():
    """The Celery app publishes to a broker that refuses connections (a real URL, not
    a mock), with eager execution off: what a web process sees while the broker is
    down. Everything is put back afterwards."""
    from config.celery import app

    def reset_pools() -> None:
        # Dropped, not closed: kombu keeps producer pools per broker URL, and a closed
        # one would be handed out again to the next test.
        app._pool = None
        app.amqp._producer_pool = None

    # Celery publishes through ``broker_write_url`` (derived from ``broker_url``).
    previous = (app.conf.broker_write_url, app.conf.task_always_eager)
    reset_pools()
    app.conf.broker_write_url, app.conf.task_always_eager = UNREACHABLE_BROKER, False
    try:
        yield app
    finally:
        reset_pools()
        app.conf.broker_write_url, app.conf.task_always_eager = previous


@pytest.fixture
def broker_down():
    with broker_unreachable() as app:
        yield app
