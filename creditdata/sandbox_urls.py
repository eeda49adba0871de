"""URLs of the sandbox provider API; included at ``/sandbox/provider/`` by config.urls.

Everything under ``v1/`` goes to the one view, which routes it exactly like the
in-process adapter does, so unknown paths get the API's JSON 404 rather than an HTML
page. ``outbox/`` is the demo's page of the text messages the sandbox "sent".
"""

from django.urls import path, re_path

from creditdata.sandbox_views import sandbox_api, sandbox_outbox

app_name = "sandbox"

urlpatterns = [
    re_path(r"^v1(?P<path>/.*)$", sandbox_api, name="api"),
    path("outbox/", sandbox_outbox, name="outbox"),
]
