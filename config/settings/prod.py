"""Production: every secret and host comes from the environment, with no default.

``manage.py check --deploy --fail-level WARNING`` passes with these settings (a test
runs it), so a deploy that forgets HTTPS hardening fails before it serves a request.
"""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import (
    DEMO_SECRETS,
    DEVELOPMENT_FIELD_ENCRYPTION_KEY,
    database,
    env,
)
from core.checks import is_sandbox_url
from core.crypto import key_problems, parse_keys

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {
    "default": database(
        env("DATABASE_URL"), conn_max_age=env.int("DJANGO_CONN_MAX_AGE", default=60)
    )
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The __Host- prefix makes browsers refuse these cookies unless they are Secure, for
# Path=/ and without a Domain, so a sibling subdomain (or a man in the middle on plain
# http) cannot set or shadow them. Dev and test, served over http, keep the plain
# names: a browser drops a __Host- cookie that is not Secure. No JavaScript reads them
# by name (forms and Wagtail take the token from {% csrf_token %}).
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_PATH = "/"
CSRF_COOKIE_PATH = "/"
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

EMAIL_DELIVERY_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=587)
EMAIL_HOST_USER = env("DJANGO_EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("DJANGO_EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("DJANGO_EMAIL_USE_TLS", default=True)
SITE_BASE_URL = env("SITE_BASE_URL").rstrip("/")
WAGTAILADMIN_BASE_URL = SITE_BASE_URL


# --- Public credit data provider: the real one, never the sandbox --------------------
def _provider_value(name: str) -> str:
    """The variable's value: required, not empty, not a published demo credential.

    Errors name the variable and never print its value.
    """
    value = env(name)
    if not value.strip():
        raise ImproperlyConfigured(f"Set the {name} environment variable (it is empty)")
    if value.strip() in DEMO_SECRETS:
        raise ImproperlyConfigured(
            f"{name} is the sandbox provider's published demo value; set the {name} "
            "environment variable to the provider's own value"
        )
    return value


CREDIT_PROVIDER_URL = _provider_value("CREDIT_PROVIDER_URL")
if is_sandbox_url(CREDIT_PROVIDER_URL):
    raise ImproperlyConfigured(
        "CREDIT_PROVIDER_URL points at the sandbox provider (sandbox:// or a /sandbox/ "
        "route); set the CREDIT_PROVIDER_URL environment variable to the real "
        "provider's https:// URL"
    )
CREDIT_PROVIDER_API_KEY = _provider_value("CREDIT_PROVIDER_API_KEY")
CREDIT_PROVIDER_WEBHOOK_SECRET = _provider_value("CREDIT_PROVIDER_WEBHOOK_SECRET")
# The sandbox routes are never mounted in production (config.urls reads this).
if env.bool("CREDIT_SANDBOX_ENABLED", default=False):
    raise ImproperlyConfigured(
        "CREDIT_SANDBOX_ENABLED cannot be true with config.settings.prod; unset the "
        "CREDIT_SANDBOX_ENABLED environment variable"
    )
CREDIT_SANDBOX_ENABLED = False

# --- Encryption at rest: the operator's own keys, never the development one ----------
# Required (no default); every entry a Fernet key. Errors name the variable and the
# entry's position, never a key.
FIELD_ENCRYPTION_KEYS = parse_keys(env("FIELD_ENCRYPTION_KEYS"))
_key_problems = key_problems(FIELD_ENCRYPTION_KEYS)
if DEVELOPMENT_FIELD_ENCRYPTION_KEY in FIELD_ENCRYPTION_KEYS:
    _key_problems.append(
        "FIELD_ENCRYPTION_KEYS holds the public development key; generate your own"
    )
if _key_problems:
    raise ImproperlyConfigured(
        " ".join(_key_problems) + " Set the FIELD_ENCRYPTION_KEYS environment variable "
        'to comma-separated keys from `python -c "from cryptography.fernet import '
        'Fernet; print(Fernet.generate_key().decode())"`.'
    )

LOGGING["loggers"]["django.security"] = {"level": "WARNING"}  # noqa: F405
