"""URLs of the sandbox provider API; included at ``/sandbox/provider/`` by config.urls.

Everything under ``v1/`` goes to the one view, which routes it exactly like the
in-process adapter does, so unknown paths get the API's JSON 404 rather than an HTML
page.
"""

from django.urls import re_path

from creditdata.sandbox_views import sandbox_api

app_name = "sandbox"

urlpatterns = [
    re_path(r"^v1(?P<path>/.*)$", sandbox_api, name="api"),
]
