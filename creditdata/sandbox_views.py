"""The sandbox provider API over HTTP, for tools and people outside the process.

A thin Django wrapper around ``sandbox.handle``: the behaviour lives there so that the
in-process transport adapter and this view can never disagree. It is served only where
``CREDIT_SANDBOX_ENABLED`` is true; elsewhere the URLs are a plain 404, so a production
deployment does not reveal that a sandbox exists.

``sandbox_outbox`` is the sandbox's "phone": the text messages it would have sent (the
real-name verification codes), so a demo user can read the code the provider sent to
the synthetic registered contact.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from creditdata.sandbox import handle, outbox_messages


@csrf_exempt  # an API authenticated by its bearer key, called by servers, not browsers
def sandbox_api(request: HttpRequest, path: str) -> HttpResponse:
    """Answer ``/v1<path>`` with the sandbox provider (404 when it is disabled)."""
    if not getattr(settings, "CREDIT_SANDBOX_ENABLED", False):
        raise Http404("The sandbox provider is not enabled on this deployment")
    answer = handle(
        request.method or "GET",
        path,
        {name: request.GET[name] for name in request.GET},
        dict(request.headers),
        request.body,
    )
    # The sandbox stands in for another server, so its request id is this request's
    # id: config.middleware.RequestIdMiddleware writes request.request_id into the
    # X-Request-Id response header and would otherwise replace the provider's own.
    request.request_id = answer.headers["X-Request-Id"]  # type: ignore[attr-defined]
    return HttpResponse(answer.body, status=answer.status, headers=answer.headers)


@login_required
def sandbox_outbox(request: HttpRequest) -> HttpResponse:
    """The messages the sandbox "sent", newest first (404 when it is disabled).

    Synthetic contacts and codes only: this page exists so the demo can be walked
    through without a phone; a real provider's messages reach a real phone.
    """
    if not getattr(settings, "CREDIT_SANDBOX_ENABLED", False):
        raise Http404(_("The sandbox provider is not enabled on this deployment."))
    messages = [
        {
            **message,
            "sent_at": dt.datetime.fromtimestamp(message["sent_at"], tz=dt.UTC),
            "expires_at": dt.datetime.fromtimestamp(message["expires_at"], tz=dt.UTC),
        }
        for message in outbox_messages()
    ]
    uscc = request.GET.get("uscc", "").strip().upper()
    if uscc:
        messages = [message for message in messages if message["uscc"] == uscc]
    return render(
        request,
        "creditdata/sandbox_outbox.html",
        {"outbox": messages, "uscc": uscc},
    )
