"""URLs of the bank API, mounted at ``/api/v1/``.

A ``SimpleRouter`` (not ``DefaultRouter``): the browsable API root would be one more
unauthenticated-looking page and one more entry in the schema, and integrators find
the endpoints in the docs page instead.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from lenders.api import BankApiDocsView, ProductViewSet, api_not_found

app_name = "bank_api"

router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")

urlpatterns = [
    # Signed-in staff only: anonymous visitors go to the login page, like every other
    # portal page, rather than getting DRF's bare 403.
    path("docs/", login_required(BankApiDocsView.as_view()), name="docs"),
    *router.urls,
    # Last: every other path ending in a slash is the API's JSON 404, not the site's
    # HTML page (Wagtail's catch-all would serve it). Paths without the slash are left
    # to APPEND_SLASH, which redirects them here or to the route they meant.
    re_path(r"^(?:[\s\S]*/)?$", api_not_found, name="not-found"),
]
