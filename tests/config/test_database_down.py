"""A database that is down or hung answers pages with 503 and ``Retry-After`` within
the connect timeout + 1 s, never a 500 or a hang; every settings module keeps the
connect and statement timeouts."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from tests.config.test_settings import _clean_env, _run, prod_env

CONNECT_TIMEOUT = 2

_REQUEST = """
import json, os, time
import django
django.setup()
from django.test import Client
from django.urls import get_resolver
# A running web worker has loaded its URLs (and the views' imports) already.
get_resolver().url_patterns
started = time.monotonic()
response = Client(raise_request_exception=False).get(os.environ["PROBE_PATH"], HTTP_HOST="localhost")
print(json.dumps({
    "status": response.status_code,
    "retry_after": response.get("Retry-After"),
    "seconds": time.monotonic() - started,
    "body": response.content.decode(),
}))
"""


def _request(database_url: str, path: str = "/products/") -> dict:
    return _last_json(
        _REQUEST,
        _clean_env(
            DJANGO_SETTINGS_MODULE="config.settings.dev",
            DATABASE_URL=database_url,
            DATABASE_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
            # As in production: the error handler, not the debug page.
            DJANGO_DEBUG="false",
            PROBE_PATH=path,
        ),
    )


def _last_json(code: str, env: dict[str, str]):
    """Run ``code`` in a fresh interpreter; the JSON of its last line of output."""
    result = _run(code, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def hung_database():
    """A TCP port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"postgres://nobody@127.0.0.1:{listener.getsockname()[1]}/xinyidai"
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in held:
            connection.close()
        listener.close()


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_a_hung_database_answers_503_with_retry_after_within_the_bound(hung_database):
    answer = _request(hung_database)
    assert answer["status"] == 503
    assert answer["retry_after"] == "30"
    assert answer["seconds"] < CONNECT_TIMEOUT + 1
    assert "服务暂时不可用" in answer["body"]
    assert "127.0.0.1" not in answer["body"]  # nothing of the driver's error shown


def test_a_database_that_refuses_connections_answers_503_at_once():
    answer = _request(f"postgres://nobody@127.0.0.1:{_closed_port()}/xinyidai")
    assert (answer["status"], answer["retry_after"]) == (503, "30")
    assert answer["seconds"] < CONNECT_TIMEOUT + 1


@pytest.mark.parametrize("module", ["dev", "test", "prod"])
def test_every_settings_module_keeps_the_connect_and_statement_timeouts(
    module, tmp_path
):
    code = (
        "import django, json; django.setup(); from django.conf import settings;"
        "print(json.dumps(settings.DATABASES['default']['OPTIONS']))"
    )
    environment = prod_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE=f"config.settings.{module}",
        DATABASE_URL="postgres://app@db.internal:5432/xinyidai",
    )
    assert _last_json(code, environment) == {
        "connect_timeout": 5,
        "options": "-c statement_timeout=30000",
    }
