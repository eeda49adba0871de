"""The marketplace's pages: applying, following an application, the bank's review
queue and decisions, the inbox, and (between the markers) the matches."""

from django.urls import path

from marketplace import views

app_name = "marketplace"

urlpatterns = [
    # --- application urls (lead) ---
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.notification_open, name="notification_open"),
    # --- end application urls ---
    # --- sme urls (H2) ---
    # --- end sme urls ---
    # --- bank urls (H3) ---
    # --- end bank urls ---
    # --- matching urls (H1) ---
    # --- end matching urls ---
]
