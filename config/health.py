"""``/healthz``: is each backing service answering, right now?

Every check runs in its own thread against a deadline, so a database that hangs (a
dropped packet, a full connection pool) turns into a 503 within the deadline instead of
a hung load-balancer probe. 503 answers carry ``Retry-After``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

RETRY_AFTER_SECONDS = 10
logger = logging.getLogger(__name__)


def check_database() -> str:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # The check runs in a worker thread: close its connection, never leak it.
        connections.close_all()
    return "ok"


def check_cache() -> str:
    key = "healthz:probe"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    return "ok"


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL:
        return "eager"
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=1)
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


#: One thread per check for the whole process, and at most one run of each check in
#: flight: a probe that arrives while the previous run of a check still hangs waits on
#: that run instead of starting another, so hung checks never pile up threads and
#: sockets however often the load balancer asks.
_executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="healthz")
_in_flight: dict[str, Future] = {}
_lock = threading.Lock()


def _submit(name: str, check: Callable[[], str]) -> Future:
    with _lock:
        running = _in_flight.get(name)
        if running is not None and not running.done():
            return running
        future = _executor.submit(check)
        _in_flight[name] = future
        return future


def run_checks(timeout: float) -> dict[str, dict[str, object]]:
    started = time.monotonic()
    futures = {name: _submit(name, check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=timeout)
    results: dict[str, dict[str, object]] = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = {
                "status": "timeout",
                "error": f"no answer within {timeout}s",
            }
            continue
        error = future.exception()
        if error is None:
            results[name] = {"status": future.result()}
        else:
            # The public answer names the check and the kind of error only: the
            # driver's message (host, port, user) goes to the log.
            logger.warning("healthz: %s check failed: %s", name, error)
            results[name] = {"status": "error", "error": type(error).__name__}
    results["_elapsed_ms"] = {"status": round((time.monotonic() - started) * 1000)}
    return results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results = run_checks(settings.HEALTHCHECK_TIMEOUT_SECONDS)
    elapsed = results.pop("_elapsed_ms")["status"]
    healthy = all(result["status"] in ("ok", "eager") for result in results.values())
    response = JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "checks": results,
            "elapsed_ms": elapsed,
        },
        status=200 if healthy else 503,
    )
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
