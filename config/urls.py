from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from accounts import views as account_views
from config import health, views
from creditdata import views as creditdata_views
from lenders.api import BankApiSchemaView

handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    # Both admin logins are allauth's, so its rate limits and MFA apply to them too.
    # A signed-in user without access gets a page saying so, not a redirect loop.
    path(
        "admin/login/",
        account_views.admin_login,
        {"area": "cms"},
        name="wagtailadmin_allauth_login",
    ),
    path("admin/", include(wagtailadmin_urls)),
    path(
        "django-admin/login/",
        account_views.admin_login,
        {"area": "django_admin"},
        name="djangoadmin_allauth_login",
    ),
    path("django-admin/", admin.site.urls),
    path("documents/", include(wagtaildocs_urls)),
    # Fetched with a bank API key or a session (SPECTACULAR_SETTINGS), docs/api.md.
    path("api/schema/", BankApiSchemaView.as_view(), name="api-schema"),
    # Before lenders.api_urls: its last pattern is the API's catch-all JSON 404.
    path("api/v1/", include("marketplace.api_urls")),
    path("api/v1/", include("lenders.api_urls")),
    path(
        "webhooks/provider/", creditdata_views.provider_webhook, name="provider_webhook"
    ),
]
# The sandbox provider API exists only where it is enabled (never in production).
if getattr(settings, "CREDIT_SANDBOX_ENABLED", False):
    urlpatterns.append(path("sandbox/provider/", include("creditdata.sandbox_urls")))

urlpatterns += i18n_patterns(
    path("accounts/", include("allauth.urls")),
    path("portal/", include("accounts.urls")),
    path("portal/", include("creditdata.urls")),
    path("portal/", include("borrowers.urls")),
    path("portal/", include("scoring.urls")),
    path("portal/", include("lenders.urls")),
    path("portal/", include("marketplace.urls")),
    path("products/", include("lenders.supermarket_urls")),
    path("", include(wagtail_urls)),
    prefix_default_language=False,
)

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
