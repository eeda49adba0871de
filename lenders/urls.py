from django.urls import path

from lenders import views

app_name = "lenders"

urlpatterns = [
    path("bank/products/", views.product_list, name="products"),
    path("bank/products/new/", views.product_new, name="product_new"),
    path("bank/products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path(
        "bank/products/<int:pk>/<slug:action>/",
        views.product_action,
        name="product_action",
    ),
    path("bank/branches/", views.branches, name="branches"),
    path("bank/branches/new/", views.branch_edit, name="branch_new"),
    path("bank/branches/<int:pk>/edit/", views.branch_edit, name="branch_edit"),
    path("bank/branches/<int:pk>/delete/", views.branch_delete, name="branch_delete"),
    path("bank/api-keys/", views.api_keys, name="api_keys"),
    path("bank/api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("bank/webhook/", views.webhook, name="webhook"),
    path(
        "bank/webhook/deliveries/<int:pk>/redeliver/",
        views.webhook_redeliver,
        name="webhook_redeliver",
    ),
    path("operator/products/review/", views.review_queue, name="review_queue"),
    path(
        "operator/products/revisions/<int:pk>/<slug:action>/",
        views.review_revision_decide,
        name="review_revision_decide",
    ),
    path(
        "operator/products/<int:pk>/<slug:action>/",
        views.review_decide,
        name="review_decide",
    ),
    path("operator/banks/new/", views.lender_onboard, name="lender_onboard"),
]
