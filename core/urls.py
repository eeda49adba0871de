"""URL helpers shared by the apps."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language


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


def site_url(path_or_url: str) -> str:
    """An absolute link on ``SITE_BASE_URL``: a path, or a URL built on some request's
    host (whose scheme and host are replaced). Emails use it, so a link never
    depends on the Host header of the request that caused the email."""
    parts = urlsplit(path_or_url)
    path = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return settings.SITE_BASE_URL.rstrip("/") + path


@dataclass(frozen=True)
class PlatformSite:
    """What allauth's templates call ``current_site``: the platform's name in the
    active language and the domain of ``SITE_BASE_URL``."""

    name: str
    domain: str


def platform_site() -> PlatformSite:
    names = settings.PLATFORM_NAME
    name = names.get(get_language() or "", names[settings.LANGUAGE_CODE])
    return PlatformSite(name=name, domain=urlsplit(settings.SITE_BASE_URL).netloc)
