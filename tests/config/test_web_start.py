"""A web worker does not import the numerical stack unless it serves a scoring page:
the WSGI application, its URLconf and ``/healthz`` come up without pandas,
scikit-learn or xgboost (a fresh interpreter each, as a fresh worker is). The time
it takes is measured by ``benchmarks/web_start.py``, not here."""

from __future__ import annotations

import json

from tests.config.test_settings import _clean_env, _run

HEAVY = ("pandas", "sklearn", "xgboost", "scipy")

SCRIPT = r"""
import json, sys
from config.wsgi import application
from django.test import Client
before = sorted(m for m in HEAVY if m in sys.modules)
health = Client(raise_request_exception=False).get("/healthz")
home = Client(raise_request_exception=False).get("/")
after_portal = sorted(m for m in HEAVY if m in sys.modules)
from django.urls import resolve, reverse
view = resolve(reverse("scoring:my_score")).func
after_resolve = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps({
    "before": before, "after_portal": after_portal, "after_resolve": after_resolve,
    "health": health.status_code, "home": home.status_code, "view": view.__name__,
}))
"""


def test_the_web_application_starts_without_pandas_sklearn_or_xgboost(tmp_path):
    env = _clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'web.sqlite3'}",
    )
    script = f"HEAVY = {HEAVY!r}\n" + SCRIPT
    result = _run(script, env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "before": [],
        "after_portal": [],
        "after_resolve": [],
        "health": report["health"],
        "home": report["home"],
        "view": "my_score",
    }
    # Served (the database is empty and unmigrated here: what matters is the imports).
    assert report["health"] in (200, 503)
    assert report["home"] in (200, 500, 503)


def test_a_scoring_page_imports_its_views_on_its_first_request():
    from core.urls import lazy_view

    view = lazy_view("scoring.views.my_score")
    assert (view.__name__, view.__module__) == ("my_score", "scoring.views")
