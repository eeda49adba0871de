"""The marketplace's pages. Views parse the request, call a workflow, a service or a
selector, and render; rules live in the services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from marketplace import selectors, services

# --- application views (lead) ---


@login_required
@require_http_methods(["GET", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    """The signed-in user's notifications, newest first; POST marks them all read."""
    if request.method == "POST":
        services.notifications_mark_read(user=request.user)
        return redirect("marketplace:inbox")
    return render(
        request,
        "marketplace/inbox.html",
        {"notifications": selectors.inbox(user=request.user)[:100]},
    )


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a notification: mark it read and go to its application."""
    item = selectors.notification_for(user=request.user, pk=pk)
    if item is None:
        raise Http404
    services.notifications_mark_read(user=request.user, pks=[item.pk])
    return redirect("marketplace:inbox")


# --- end application views ---
# --- matching views (H1) ---
# --- end matching views ---
