from django.urls import path

from creditdata import views

app_name = "creditdata"

urlpatterns = [
    path("enterprise/data/", views.my_data, name="my_data"),
    path("enterprise/data/pull/", views.pull_now, name="pull_now"),
    path(
        "enterprise/data/<slug:category>/",
        views.my_data_category,
        name="my_data_category",
    ),
    path("enterprise/consents/", views.my_consents, name="consents"),
    path("enterprise/consents/new/", views.consent_new, name="consent_new"),
    path("enterprise/consents/<int:pk>/", views.consent_detail, name="consent_detail"),
    path(
        "enterprise/consents/<int:pk>/revoke/",
        views.consent_revoke,
        name="consent_revoke",
    ),
    path("enterprise/access-log/", views.my_access_log, name="access_log"),
    path(
        "operator/data-quality/",
        views.operator_data_quality,
        name="operator_data_quality",
    ),
    path(
        "operator/enterprises/<int:enterprise_pk>/data/<slug:category>/",
        views.operator_records,
        name="operator_records",
    ),
]
