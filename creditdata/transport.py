"""A ``requests`` transport adapter that answers ``sandbox://`` URLs in-process.

With ``CREDIT_PROVIDER_URL = "sandbox://provider/v1"`` the provider client runs
unchanged — same session, same headers, retries and response parsing — but no socket
is opened: ``session.mount("sandbox://", SandboxAdapter())`` hands every request to
``sandbox.handle``. An embedded deployment, a laptop and the test suite therefore
exercise the real client code path against the sandbox without a server running.

**Use ``SandboxSession`` rather than a bare mount when passing ``params=``.** Requests
only builds query strings for ``http(s)://`` URLs: for any other scheme it leaves the
URL untouched and silently drops ``params`` (psf/requests#3735, by design), before any
adapter sees the request. A bare mount then loses ``limit`` and ``cursor``, and
pagination never advances. ``SandboxSession`` mounts the adapter *and* appends
``params`` to ``sandbox://`` URLs itself.
"""

from __future__ import annotations

import copy
import http
import io
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from requests import PreparedRequest, Request, Response, Session
from requests.adapters import BaseAdapter
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict

from creditdata import sandbox

SCHEME = "sandbox://"
API_PREFIX = "/v1"


def _body_bytes(body: Any) -> bytes:
    """The request body as bytes, whatever form ``requests`` prepared it in."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if isinstance(body, Iterable):  # a generator body (chunked upload)
        return b"".join(
            chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
            for chunk in body
        )
    raise TypeError(f"Unsupported request body type {type(body).__name__}")


def _api_path(url_path: str) -> str | None:
    """``/v1/enterprises/x`` → ``/enterprises/x``; ``None`` outside ``/v1``."""
    path = unquote(url_path)
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return path[len(API_PREFIX) :] or "/"
    return None


class SandboxAdapter(BaseAdapter):
    """Serve ``sandbox://<host>/v1/...`` requests with ``creditdata.sandbox.handle``.

    The host part is ignored. Timeouts, TLS and proxies do not apply in-process and
    are accepted and ignored, so callers pass exactly what they pass to a real node.
    Query parameters must be in the URL by the time a request gets here (see
    ``SandboxSession``).
    """

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Answer ``request`` in-process and return a real ``requests.Response``."""
        started = time.perf_counter()
        url = request.url or ""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {str(name): str(value) for name, value in request.headers.items()}
        path = _api_path(parts.path)
        if path is None:
            answer = sandbox.not_found(parts.path, headers)
        else:
            answer = sandbox.handle(
                (request.method or "GET").upper(),
                path,
                query,
                headers,
                _body_bytes(request.body),
            )

        response = Response()
        response.status_code = answer.status
        try:
            response.reason = http.HTTPStatus(answer.status).phrase
        except ValueError:
            response.reason = ""
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.body
        # Marks the body as already read, so iter_content() and stream=True work
        # from _content instead of trying to read the raw stream again.
        response._content_consumed = True
        response.raw = io.BytesIO(answer.body)
        response.url = url
        response.request = request
        response.encoding = "utf-8"
        response.connection = self  # type: ignore[assignment]  # as HTTPAdapter does
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response

    def close(self) -> None:
        """Nothing to release: no connections are ever opened."""


def _query_pairs(params: Any) -> list[tuple[str, str]]:
    """``params`` as requests accepts them (mapping or pairs, list values, ``None``
    meaning "leave out") flattened to string pairs."""
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is None:
                continue
            if isinstance(item, bytes):
                item = item.decode("utf-8")
            pairs.append((str(key), str(item)))
    return pairs


class SandboxSession(Session):
    """A ``requests.Session`` with the sandbox mounted and ``params=`` honoured.

    Pass it wherever a session is injected (``ProviderClient(..., session=...)``) when
    the provider URL is ``sandbox://``; ``http(s)://`` URLs behave exactly as in a
    plain session.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mount(SCHEME, SandboxAdapter())

    def prepare_request(self, request: Request) -> PreparedRequest:
        """Move ``params`` into a ``sandbox://`` URL, since requests will not."""
        url = request.url if isinstance(request.url, str) else ""
        if url.lower().startswith(SCHEME):
            params = merge_setting(request.params, self.params)
            pairs = _query_pairs(params) if params else []
            if pairs:
                request = copy.copy(request)
                base, _, fragment = url.partition("#")
                separator = "&" if "?" in base else "?"
                request.url = base + separator + urlencode(pairs)
                if fragment:
                    request.url += "#" + fragment
                request.params = {}
        return super().prepare_request(request)
