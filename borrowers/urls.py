"""Included at ``portal/`` by config.urls: the enterprise's pages under
``enterprise/``, the operators' under ``operator/``."""

from django.urls import path

from borrowers import views

app_name = "borrowers"

urlpatterns = [
    path("enterprise/register/", views.enterprise_register, name="register"),
    path("enterprise/verify/", views.enterprise_verify, name="verify"),
    path(
        "enterprise/verify/letter/",
        views.enterprise_verify_letter,
        name="verify_letter",
    ),
    path(
        "verifications/<int:pk>/letter/",
        views.verification_letter_file,
        name="letter_file",
    ),
    path(
        "operator/verifications/",
        views.operator_verifications,
        name="operator_verifications",
    ),
    path(
        "operator/verifications/<int:pk>/",
        views.operator_verification,
        name="operator_verification",
    ),
]
