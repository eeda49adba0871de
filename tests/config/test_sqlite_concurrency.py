"""The embedded default (dev settings on a SQLite file) under concurrent page loads.

An editor loading Wagtail admin pages got "database is locked" 500s on 8 of 18
loads: every signed-in request wrote its session's activity row, and SQLite's
default deferred transactions fail at once when a reader upgrades to a writer while
another connection writes. This runs the dev server on a fresh SQLite file, as
``make demo`` does, and loads admin pages from eight threads at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts import services
from accounts.models import Organization, OrganizationKind, Role, User
from tests.factories import activate_totp
user = User.objects.create_user(email="editor@example.com", password="x" * 12)
office = services.organization_create(
    kind=OrganizationKind.PROMOTION_OFFICE, name="Office"
)
services.membership_create(user=user, organization=office, role=Role.EDITOR)
activate_totp(user)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
print(session.session_key)
"""

PAGES = [
    "/admin/",
    "/admin/pages/",
    "/admin/pages/1/",
    "/admin/images/",
    "/admin/documents/",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dev_env(database: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DATABASE_URL=f"sqlite:///{database}",
        PYTHONPATH=str(ROOT),
    )
    return env


def _manage(env, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    database = tmp_path_factory.mktemp("embedded") / "db.sqlite3"
    env = _dev_env(database)
    _manage(env, "migrate", "--noinput", "-v", "0")
    session_key = _manage(env, "shell", stdin=SETUP).strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{base}/healthz", timeout=2)
            break
        except requests.ConnectionError:
            assert server.poll() is None, server.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "the dev server did not start"
            time.sleep(0.3)
    try:
        yield base, session_key, database
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_embedded_database_runs_in_wal_mode(dev_server):
    import sqlite3

    _base, _session, database = dev_server
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_concurrent_admin_page_loads_never_hit_a_locked_database(dev_server):
    base, session_key, _database = dev_server

    def load(path: str) -> tuple[str, int, bool]:
        response = requests.get(
            f"{base}{path}",
            cookies={"sessionid": session_key},
            allow_redirects=False,
            timeout=60,
        )
        return path, response.status_code, "database is locked" in response.text

    # Each new session is written once, so every round uses cleared throttle state:
    # the first round is the one that writes.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(load, PAGES * 6))

    assert [r for r in results if r[1] != 200 or r[2]] == []
    assert len(results) == 30
