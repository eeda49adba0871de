"""gunicorn settings for production: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

Every value can be set from the environment, so one file serves every host.
"""

from __future__ import annotations

import os

import gunicorn

# Listen where the TLS proxy connects: GUNICORN_BIND (``host:port`` or
# ``unix:/path``); else all interfaces on $PORT, gunicorn's own convention for
# platforms that assign the port; else loopback only, behind a proxy on the same host.
if os.environ.get("GUNICORN_BIND"):
    bind = [os.environ["GUNICORN_BIND"]]
elif os.environ.get("PORT"):
    bind = [f"0.0.0.0:{os.environ['PORT']}"]
else:
    bind = ["127.0.0.1:8000"]

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A request that takes longer is a bug or a hung dependency (every database statement
# and outbound call has its own, shorter timeout): the worker is restarted.
timeout = 30
accesslog = "-"
# Only the proxy may say the request came over https (X-Forwarded-Proto).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Import Django and the project once, in the master, before forking: a broken setting
# or a missing environment variable stops the server at start instead of each worker
# failing in a loop; workers share the imported code's memory pages; and code that
# must run once per server start, not once per worker, runs in the master.
preload_app = True

# The Server header: gunicorn (since 20.1) writes ``Server: gunicorn``, the name alone
# (``gunicorn.SERVER``), and has no setting for it. Its version is still in
# ``SERVER_SOFTWARE``, which it copies into every WSGI environ (where an error report
# could print it) and into os.environ. This file is read before the workers import
# gunicorn.http.wsgi, which copies the constant, so the name alone goes there too.
gunicorn.SERVER_SOFTWARE = gunicorn.SERVER  # type: ignore[misc]


def on_starting(server) -> None:
    """The master copied the versioned name into os.environ before reading this file."""
    os.environ["SERVER_SOFTWARE"] = gunicorn.SERVER
