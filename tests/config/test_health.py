from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from config import health


def test_healthz_reports_every_service_when_all_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["cache"] == {"status": "ok"}
    # Without a broker the embedded default runs tasks eagerly; with one it is pinged.
    assert body["checks"]["broker"]["status"] in {"ok", "eager"}
    assert "Retry-After" not in response


def test_healthz_is_503_with_retry_after_when_the_database_is_unreachable(
    client, db, monkeypatch
):
    # Fresh check threads: a thread that already ran the database check keeps its
    # connection (an in-memory SQLite test database is never closed), and would
    # answer from it whatever the settings now say.
    executor = ThreadPoolExecutor(max_workers=len(health.CHECKS))
    monkeypatch.setattr(health, "_executor", executor)
    settings_dict = connections.settings["default"]
    if settings_dict["ENGINE"].endswith("sqlite3"):
        monkeypatch.setitem(settings_dict, "NAME", "/nonexistent-dir/xyd/db.sqlite3")
        monkeypatch.setitem(
            settings_dict, "TEST", {**settings_dict["TEST"], "NAME": None}
        )
    else:
        # A port nothing listens on: the connection is refused, as when PostgreSQL is down.
        monkeypatch.setitem(settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(settings_dict, "PORT", "1")

    response = client.get("/healthz")
    executor.shutdown(wait=True)

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "error"
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert body["checks"]["cache"] == {"status": "ok"}


def test_healthz_answers_503_before_a_hung_database_returns(
    client, monkeypatch, settings
):
    """A database that never answers must not hang the probe: the deadline wins."""
    settings.HEALTHCHECK_TIMEOUT_SECONDS = 0.2
    released = threading.Event()
    finished = threading.Event()

    def hung_database() -> str:
        released.wait(timeout=30)
        finished.set()
        return "ok"

    monkeypatch.setitem(health.CHECKS, "database", hung_database)
    try:
        response = client.get("/healthz")
        # The response exists while the check is still blocked: nobody waited for it.
        assert not finished.is_set()
    finally:
        released.set()
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["checks"]["database"]["status"] == "timeout"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_healthz_only_answers_get(client, method):
    assert getattr(client, method)("/healthz").status_code == 405


def test_repeated_probes_of_a_hung_check_start_no_new_threads(
    client, monkeypatch, settings
):
    """While a check hangs, later probes wait on the same run: the healthz threads
    stay at one per check however many probes arrive."""
    settings.HEALTHCHECK_TIMEOUT_SECONDS = 0.1
    released = threading.Event()
    runs = []

    def hung_database() -> str:
        runs.append(1)
        released.wait(timeout=30)
        return "ok"

    monkeypatch.setitem(health.CHECKS, "database", hung_database)
    try:
        statuses = [client.get("/healthz").status_code for _probe in range(10)]
        threads = [t for t in threading.enumerate() if t.name.startswith("healthz")]
    finally:
        released.set()
    assert statuses == [503] * 10
    assert len(runs) == 1  # one run of the hung check, shared by all ten probes
    assert len(threads) <= len(health.CHECKS)


def test_the_public_body_names_the_failed_check_not_the_drivers_message(
    client, db, monkeypatch
):
    def refused() -> str:
        raise OSError("connection to server at 10.1.2.3, port 5432 failed")

    monkeypatch.setitem(health.CHECKS, "database", refused)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "status": "error",
        "error": "OSError",
    }
    # The elapsed time is a number that could itself hold "5432"; every other value
    # is checked as text.
    body = response.json()
    body.pop("elapsed_ms")
    text = json.dumps(body)
    assert "10.1.2.3" not in text and "5432" not in text
