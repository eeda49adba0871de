"""URL helpers shared by the apps."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse


def lazy_view(dotted_path: str) -> Callable[..., HttpResponse]:
    """A view imported on its first request instead of with the URLconf.

    For apps whose views need the numerical stack (scoring: pandas, scikit-learn,
    xgboost, over a second to import): every web worker resolves the whole URLconf
    on its first request, and a worker that only serves the portal, the API or
    ``/healthz`` should not pay for it. Only the first request of a scoring page
    imports them (once per process; with ``gunicorn --preload`` the master can warm
    them instead, see the README)."""
    module_name, _, attribute = dotted_path.rpartition(".")

    @functools.cache
    def resolve() -> Callable[..., HttpResponse]:
        return getattr(importlib.import_module(module_name), attribute)

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return resolve()(request, *args, **kwargs)

    view.__name__ = view.__qualname__ = attribute
    view.__module__ = module_name
    view.__doc__ = f"{dotted_path}, imported on its first request."
    return view
