"""Request ids: every request carries one, from the proxy or made here, so that a log
line, an access-log row and a provider call can be tied to the request that caused it."""

from __future__ import annotations

import re
import uuid

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-Id"
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")
        request.request_id = incoming if _SAFE.match(incoming) else uuid.uuid4().hex  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[HEADER] = request.request_id  # type: ignore[attr-defined]
        return response


def request_id_of(request: HttpRequest | None) -> str:
    return getattr(request, "request_id", None) or uuid.uuid4().hex
