from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("enterprise/score/", views.my_score, name="my_score"),
    path("enterprise/score/now/", views.score_now, name="score_now"),
    path("operator/models/", views.model_list, name="models"),
    path(
        "operator/models/<int:pk>/promote/", views.model_promote, name="model_promote"
    ),
    path("operator/models/<int:pk>/drift/", views.model_drift, name="model_drift"),
    path(
        "operator/models/<int:pk>/report/<str:name>",
        views.model_report_file,
        name="model_report_file",
    ),
]
