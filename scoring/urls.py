"""The scoring pages. Their views import the numerical stack, so they are imported on
their first request, not with the URLconf (``core.urls.lazy_view``)."""

from django.urls import path

from core.urls import lazy_view

app_name = "scoring"

urlpatterns = [
    path("enterprise/score/", lazy_view("scoring.views.my_score"), name="my_score"),
    path(
        "enterprise/score/now/", lazy_view("scoring.views.score_now"), name="score_now"
    ),
    path(
        "enterprise/score/progress/",
        lazy_view("scoring.views.data_progress"),
        name="data_progress",
    ),
    path("operator/models/", lazy_view("scoring.views.model_list"), name="models"),
    path(
        "operator/models/<int:pk>/promote/",
        lazy_view("scoring.views.model_promote"),
        name="model_promote",
    ),
    path(
        "operator/models/<int:pk>/drift/",
        lazy_view("scoring.views.model_drift"),
        name="model_drift",
    ),
    path(
        "operator/models/<int:pk>/report/<str:name>",
        lazy_view("scoring.views.model_report_file"),
        name="model_report_file",
    ),
]
