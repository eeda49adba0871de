"""How soon a fresh gunicorn worker answers its first ``/healthz``.

gunicorn runs ``config.wsgi`` with ``config/gunicorn.conf.py`` (one worker) on an
embedded SQLite database; the worker is killed (SIGKILL) and the time from the kill
until the replacement the master forks answers ``/healthz`` is measured, ``--rounds``
times, for two ways of starting:

* ``preload``: the file as it is (``preload_app = True``): the master imported the
  application and its URLconf before forking, so a new worker has nothing to import;
* ``no preload`` (the baseline): the same file with ``preload_app = False``, gunicorn's
  default: each new worker imports Django,
  the project and its URLconf itself, as gunicorn does by default.

Both run in this process, one after the other; the figure is the ratio of the
medians. The import of the scoring views (pandas, scikit-learn, xgboost) is on
neither path: ``core.urls.lazy_view``.

    .venv/bin/python benchmarks/web_start.py --rounds 7
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthz(port: int, deadline: float) -> float:
    """Seconds until ``/healthz`` answers (any status) on ``port``."""
    started = time.monotonic()
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
                return time.monotonic() - started
        except urllib.error.HTTPError:
            return time.monotonic() - started
        except OSError:
            time.sleep(0.01)
    raise TimeoutError("/healthz did not answer")


def _worker_pid(master: int) -> int | None:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0]) if children else None


def measure(
    *, preload: bool, rounds: int, env: dict[str, str], folder: str
) -> list[float]:
    port = _free_port()
    config = ROOT / "config" / "gunicorn.conf.py"
    if not preload:
        # The project's file, then gunicorn's default: every worker imports the app.
        config = Path(folder) / "no_preload.conf.py"
        config.write_text(
            f"exec(compile(open({str(ROOT / 'config' / 'gunicorn.conf.py')!r}).read(),"
            " 'gunicorn.conf.py', 'exec'))\npreload_app = False\n"
        )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(config),
        "--workers",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        "/dev/null",
        "config.wsgi",
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _healthz(port, time.monotonic() + 120)
        times = []
        for _round in range(rounds):
            worker = _worker_pid(server.pid)
            os.kill(worker, signal.SIGKILL)
            killed = time.monotonic()
            while _worker_pid(server.pid) in (None, worker):
                time.sleep(0.005)
            _healthz(port, time.monotonic() + 120)
            times.append(time.monotonic() - killed)
        return times
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", ""),
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DATABASE_URL": f"sqlite:///{folder}/web.sqlite3",
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        results = {
            "no preload": measure(
                preload=False, rounds=arguments.rounds, env=env, folder=folder
            ),
            "preload": measure(
                preload=True, rounds=arguments.rounds, env=env, folder=folder
            ),
        }
    baseline = statistics.median(results["no preload"])
    print(f"{'start':<12} {'median s':>9} {'ratio':>7}  rounds (s)")
    for name, times in results.items():
        median = statistics.median(times)
        rounds = ", ".join(f"{t:.3f}" for t in sorted(times))
        print(f"{name:<12} {median:>9.3f} {median / baseline:>7.3f}  {rounds}")


if __name__ == "__main__":
    main()
