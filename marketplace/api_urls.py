"""URLs of the bank API's applications, mounted at ``/api/v1/`` before
``lenders.api_urls`` (whose last pattern is the API's JSON 404 for every other path).

A ``SimpleRouter``, as for products: no browsable API root. The last pattern answers
every other path under ``applications/`` (an action the table does not give banks, a
malformed reference) with the applications' 404 body, ``code`` included.
"""

from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from marketplace.api import ApplicationViewSet, application_path_not_found

app_name = "applications_api"

router = SimpleRouter()
router.register("applications", ApplicationViewSet, basename="application")

urlpatterns = [
    *router.urls,
    re_path(
        r"^applications/(?P<path>[\s\S]*/)?$",
        application_path_not_found,
        name="not-found",
    ),
]
