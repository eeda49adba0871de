from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.portal, name="portal"),
    path("enterprise/", views.portal_enterprise, name="portal_enterprise"),
    path("bank/", views.portal_lender, name="portal_lender"),
    path("office/", views.portal_office, name="portal_office"),
    path("operator/", views.portal_operator, name="portal_operator"),
    path(
        "organizations/<int:organization_pk>/invitations/",
        views.invitation_create,
        name="invitation_create",
    ),
    path(
        "organizations/<int:organization_pk>/invitations/<int:invitation_pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
]
