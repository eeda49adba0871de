"""Start a real ``celery worker`` subprocess, wait until it answers, stop it.

One launcher for everything that needs a worker outside production: the tests (a
``solo`` pool on a private queue, ``tests/workers.py``) and the scoring benchmark (a
``prefork`` pool of N processes, ``benchmarks/batch/workers.py``). It builds the
command line, starts the process, waits until the worker answers a ``ping`` on the
broker (so whoever sends tasks next knows a consumer is there) and, on exit,
terminates it (warm shutdown) and kills it if it does not stop in time.

Nothing here imports Django or the project's Celery app at import time: the caller
passes the app to ping with, once its settings are configured.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def worker_command(
    *,
    queue: str,
    hostname: str,
    pool: str = "solo",
    concurrency: int | None = None,
    loglevel: str = "WARNING",
    app: str = "config",
) -> list[str]:
    """``python -m celery -A config worker`` consuming only ``queue``, named
    ``hostname`` (``%h`` is the machine's name), without the cluster chatter
    (gossip, mingle, heartbeat) a single test or benchmark worker does not need."""
    command = [sys.executable, "-m", "celery", "-A", app, "worker", "--pool", pool]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    return [
        *command,
        "--queues",
        queue,
        "--hostname",
        hostname,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        loglevel,
    ]


def nodename(hostname: str) -> str:
    """The node name a worker started with ``--hostname hostname`` answers as."""
    from celery.utils.nodenames import default_nodename, host_format

    return host_format(default_nodename(hostname))


def wait_until_ready(
    process: subprocess.Popen,
    *,
    control_app: Any,
    node: str,
    timeout: float = 60.0,
) -> None:
    """Ping ``node`` through ``control_app``'s broker until it answers; fail if the
    process exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout is not None else ""
            raise RuntimeError(
                f"celery worker {node} exited with {process.returncode} before "
                f"answering a ping{': ' + output if output else ''}"
            )
        replies = control_app.control.ping(destination=[node], timeout=1.0, limit=1)
        if any(node in reply for reply in replies or []):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"celery worker {node} did not answer in {timeout} s")


def stop(process: subprocess.Popen, *, timeout: float) -> None:
    """SIGTERM (warm shutdown: finish the running task), then SIGKILL after
    ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_worker(
    command: list[str],
    *,
    env: Mapping[str, str],
    control_app: Any,
    hostname: str,
    cwd: Path = ROOT,
    capture_output: bool = False,
    ready_timeout: float = 60.0,
    stop_timeout: float = 20.0,
) -> Iterator[subprocess.Popen]:
    """Run ``command`` (from ``worker_command``) with ``env``; yield the process once
    the worker named ``hostname`` answers a ping; stop it on exit. With
    ``capture_output`` its output goes to a pipe (shown if it dies before answering)
    instead of this process's terminal."""
    output: dict[str, Any] = (
        {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
        if capture_output
        else {}
    )
    process = subprocess.Popen(command, cwd=cwd, env=dict(env), **output)  # noqa: S603
    try:
        wait_until_ready(
            process,
            control_app=control_app,
            node=nodename(hostname),
            timeout=ready_timeout,
        )
        yield process
    finally:
        stop(process, timeout=stop_timeout)
        if process.stdout is not None:
            process.stdout.close()
