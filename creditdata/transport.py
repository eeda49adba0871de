"""A ``requests`` transport adapter that answers ``sandbox://`` URLs in-process.

With ``CREDIT_PROVIDER_URL = "sandbox://provider/v1"`` the provider client runs
unchanged — same session, same headers, retries and response parsing — but no socket
is opened: ``session.mount("sandbox://", SandboxAdapter())`` hands every request to
``sandbox.handle``. An embedded deployment, a laptop and the test suite therefore
exercise the real client code path against the sandbox without a server running.
"""

from __future__ import annotations

import http
import io
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from creditdata import sandbox

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


def _api_path(url_path: str) -> str:
    """``/v1/enterprises/x`` → ``/enterprises/x``; other paths go on as they are (404)."""
    path = unquote(url_path) or "/"
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return path[len(API_PREFIX) :] or "/"
    return path


class SandboxAdapter(BaseAdapter):
    """Serve ``sandbox://<host>/v1/...`` requests with ``creditdata.sandbox.handle``.

    The host part is ignored. Timeouts, TLS and proxies do not apply in-process and
    are accepted and ignored, so callers pass exactly what they pass to a real node.
    """

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
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
        answer = sandbox.handle(
            (request.method or "GET").upper(),
            _api_path(parts.path),
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
        response.connection = self
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response

    def close(self) -> None:
        """Nothing to release: no connections are ever opened."""
