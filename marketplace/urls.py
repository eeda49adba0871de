"""The marketplace's pages: applying, following an application, the bank's review
queue and decisions, the inbox, and (between the markers) the matches."""

from django.urls import path

from marketplace import bank_views, sme_views, views

app_name = "marketplace"

urlpatterns = [
    # --- application urls (lead) ---
    path("inbox/", sme_views.inbox, name="inbox"),
    path("inbox/<int:pk>/", sme_views.notification_open, name="notification_open"),
    # --- end application urls ---
    # --- sme urls (H2) ---
    path("enterprise/apply/<int:product_pk>/", sme_views.apply, name="apply"),
    path(
        "enterprise/applications/",
        sme_views.my_applications,
        name="my_applications",
    ),
    path(
        "enterprise/applications/summary/",
        sme_views.my_applications_summary,
        name="my_applications_summary",
    ),
    path(
        "enterprise/applications/<str:reference>/",
        sme_views.my_application,
        name="my_application",
    ),
    path(
        "enterprise/applications/<str:reference>/documents/<int:pk>/",
        sme_views.my_application_document,
        name="my_application_document",
    ),
    path(
        "enterprise/applications/<str:reference>/<slug:action>/",
        sme_views.my_application_act,
        name="my_application_act",
    ),
    # --- end sme urls ---
    # --- bank urls (H3) ---
    path("bank/applications/", bank_views.queue, name="bank_queue"),
    path(
        "bank/applications/waiting-count/",
        bank_views.waiting_count,
        name="bank_waiting_count",
    ),
    path(
        "bank/applications/<str:reference>/",
        bank_views.application_detail,
        name="bank_application",
    ),
    path(
        "bank/applications/<str:reference>/profile/",
        bank_views.profile,
        name="bank_profile",
    ),
    path(
        "bank/applications/<str:reference>/documents/<int:pk>/",
        bank_views.document,
        name="bank_document",
    ),
    path(
        "bank/applications/<str:reference>/<slug:action>/",
        bank_views.application_act,
        name="bank_act",
    ),
    # --- end bank urls ---
    # --- matching urls (H1) ---
    path("enterprise/matches/", views.matches, name="matches"),
    path("enterprise/matches/top/", views.top_matches, name="top_matches"),
    path(
        "enterprise/matches/product/<int:pk>/",
        views.product_verdict,
        name="product_verdict",
    ),
    # --- end matching urls ---
]
