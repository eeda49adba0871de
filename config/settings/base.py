"""Settings shared by every environment.

Every value that differs between a laptop and production is read from the environment
with django-environ. With no variables set the project runs embedded: SQLite, an
in-process cache, Celery tasks executed eagerly and the sandbox credit-data provider.
"""

from decimal import Decimal
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

DJANGO_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.admin",
]
THIRD_PARTY_APPS = [
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.locales",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "csp",
]
LOCAL_APPS = [
    "core",
    "accounts",
    "borrowers",
    "creditdata",
    "scoring",
    "lenders",
    "marketplace",
    "cms",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Every response, static files included; then the CSP, which only pages need.
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.csp.AreaCSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's session tracking, written at most once per interval per session.
    "accounts.middleware.ThrottledUserSessionsMiddleware",
    "accounts.middleware.RequireStaffMFAMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "marketplace.context_processors.inbox",
            ],
        },
    },
]


# --- Database -------------------------------------------------------------------------
def database(url: str, *, conn_max_age: int) -> dict:
    """The ``default`` database from a URL, with the bounds every settings module
    keeps: on PostgreSQL a connect timeout (a hung network must not hang a request,
    or /healthz, for the OS default of minutes) and a statement timeout (a runaway
    query is cancelled by the server). Batch jobs that need longer raise it for
    their own session (``SET statement_timeout``)."""
    config = env.db_url_config(url)
    config["ATOMIC_REQUESTS"] = False
    config["CONN_MAX_AGE"] = conn_max_age
    if config["ENGINE"] == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        options["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
        statement_ms = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=30_000)
        options["options"] = f"-c statement_timeout={statement_ms}"
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        # The embedded default serves several requests (and eager tasks) at once. WAL
        # lets readers go on while one writer writes; IMMEDIATE takes the write lock
        # when a transaction starts, so a reader never fails on upgrading to a writer
        # ("database is locked" at once, without waiting); the busy timeout makes a
        # second writer wait its turn instead of failing.
        options = config.setdefault("OPTIONS", {})
        options.setdefault(
            "timeout", env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=20)
        )
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault(
            "init_command", "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL"
        )
    return config


DATABASES = {
    "default": database(
        env("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env.int("DJANGO_CONN_MAX_AGE", default=0),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
# Login rate limits and TOTP replay markers live in the cache, so every web process
# must share it: Redis in production, process memory only in the embedded default.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="xyd"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "xinyidai",
        }
    }

# --- Accounts -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:portal"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_SESSION_REMEMBER = None
# The 6th wrong password for one account within 5 minutes is refused, whichever login
# form (site or /admin/login/) it comes through: both are the same allauth view.
ACCOUNT_RATE_LIMITS = {"login_failed": "20/m/ip,5/5m/key"}
# Behind a reverse proxy every request comes from the proxy's address: the per-IP
# limits then need the client's address from the proxy's header. TRUSTED_PROXY_COUNT
# is how many proxies under our control append to X-Forwarded-For (the client is the
# address that many entries from the right); or TRUSTED_CLIENT_IP_HEADER names a
# header the proxy sets to the client's address (e.g. X-Real-IP). Neither is trusted
# by default: a client could forge them.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env("TRUSTED_CLIENT_IP_HEADER", default=None) or None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[信易贷 Xinyidai] "
# Encrypts the TOTP and recovery-code seeds allauth stores (core.crypto).
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Xinyidai"
USERSESSIONS_TRACK_ACTIVITY = True
#: A session's "last seen" (its IP and browser, for the user's sessions page) is
#: written at most this often: writing it on every request made every page load a
#: database write.
USERSESSIONS_TRACK_INTERVAL_SECONDS = env.int(
    "USERSESSIONS_TRACK_INTERVAL_SECONDS", default=300
)

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# Our overrides of Django's locale formats: zh groups money by thousands with ",",
# en writes a month "Mar 2026" (see config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

# --- Email ----------------------------------------------------------------------------
# Every message is queued as a job (core.mail): a mail server that is down never fails
# the request. The job sends through EMAIL_DELIVERY_BACKEND.
EMAIL_BACKEND = "core.mail.OutboxEmailBackend"
EMAIL_DELIVERY_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
EMAIL_TIMEOUT = env.int("DJANGO_EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="noreply@xinyidai.local")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# Without a broker the embedded default runs every task in-process, at once.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The longest any task may run: the ceiling of every task's own time limit
# (core.jobs.task_options). The longest real work, a pull or a scoring chunk of
# 5,000, takes seconds; 5 minutes leaves a wide margin.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=5 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT * 4 // 5
CELERY_RESULT_EXPIRES = 24 * 60 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis gives the message of a worker that died (killed, its host lost) to another
# worker once it has been unacknowledged for ``visibility_timeout``. The broker never
# holds a delayed message (delays and retries wait in the outbox, core.jobs), so an
# unacknowledged message is one being run: the timeout need only outlast the longest
# run, plus a margin. The unacknowledged messages are scanned every 10 s (kombu's
# default is every 100 s).
CELERY_VISIBILITY_MARGIN_SECONDS = env.int(
    "CELERY_VISIBILITY_MARGIN_SECONDS", default=60
)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + CELERY_VISIBILITY_MARGIN_SECONDS,
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
# A broker that is down must not hold a request: publishing gives up within about a
# second and the job waits in the outbox (core.jobs) for the sweeper.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# The outbox sweeper (core.jobs.outbox_sweep): how often it runs, and how old a pending
# job must be before it is sent again (the commit hook's own send is over by then).
OUTBOX_SWEEP_SECONDS = env.int("OUTBOX_SWEEP_SECONDS", default=30)
OUTBOX_GRACE_SECONDS = env.int("OUTBOX_GRACE_SECONDS", default=30)
# A job sent that no worker finished (its message lost, its worker dead) is sent again
# once the broker would have given its message back (the visibility timeout) and the
# grace period have passed; at most OUTBOX_MAX_RESENDS times.
OUTBOX_STUCK_SECONDS = (
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + OUTBOX_GRACE_SECONDS
)
OUTBOX_MAX_RESENDS = env.int("OUTBOX_MAX_RESENDS", default=5)
# Sent jobs are kept this long (for an operator looking into a delay), then deleted.
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=7)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="xinyidai")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Both in core.api: one error-body shape per kind of error, and the schema class
    # that documents those bodies on every operation.
    "DEFAULT_SCHEMA_CLASS": "core.api.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Xinyidai API",
    "DESCRIPTION": "REST API of the Xinyidai credit-finance service platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Products and applications both have a ``status``: each enum keeps a name.
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStatusEnum": "marketplace.models.ApplicationStatus",
    },
    # Separate request components (ProductRequest), without the read-only fields: a
    # request schema then lists only what a client may send.
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Integrators fetch the schema with their bank API key (any valid key: the schema
    # is the same for every bank); signed-in staff with their session. Anonymous: 401.
    "SERVE_AUTHENTICATION": [
        "lenders.apikeys.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "PREPROCESSING_HOOKS": ["config.api.only_public_api"],
    # Swagger UI and ReDoc from the vendored sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Wagtail --------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "信易贷 Xinyidai"
#: Where users reach the site: every link in an email is built on it (never on the
#: Host header of the request that caused the email). ``make demo`` passes the address
#: it serves on.
SITE_BASE_URL = env(
    "SITE_BASE_URL",
    default=env("WAGTAILADMIN_BASE_URL", default="http://127.0.0.1:8000"),
).rstrip("/")
#: The platform's name in emails and page titles, in each language.
PLATFORM_NAME = {"zh-hans": "信易贷平台", "en": "Xinyidai"}
WAGTAILADMIN_BASE_URL = SITE_BASE_URL
WAGTAILADMIN_LOGIN_URL = "/admin/login/"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "pdf", "pptx", "txt", "xlsx", "zip"]

# --- Security defaults shared by every environment -----------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "SAMEORIGIN"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Content-Security-Policy (django-csp, area by area in core.csp.AreaCSPMiddleware).
# The portal: our own origin only, inline <script>/<style> only with the request's
# nonce (templates write nonce="{{ request.csp_nonce }}"), never 'unsafe-inline' or
# 'unsafe-eval'. data: images are Bootstrap's SVG form controls.
CSP_PORTAL_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF, NONCE],
    "style-src": [SELF, NONCE],
    "img-src": [SELF, "data:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}
CONTENT_SECURITY_POLICY = {"DIRECTIVES": CSP_PORTAL_DIRECTIVES}
# The Wagtail and Django admins, for signed-in CMS staff (TOTP) only: Wagtail's panels
# and date widgets render inline <script> with no access to the request (so no nonce)
# and its templates use style attributes, hence 'unsafe-inline' for both; no nonce
# here, or browsers would ignore 'unsafe-inline'. Still no 'unsafe-eval', no other
# origin; blob: is the image upload preview, frames are Wagtail's own page preview.
CSP_ADMIN_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF, UNSAFE_INLINE],
    "style-src": [SELF, UNSAFE_INLINE],
    "img-src": [SELF, "data:", "blob:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "frame-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [SELF],
}
# A stored HTML document served as written (the model report): its own inline CSS and
# images from the same view, nothing that runs, nothing it can submit or frame.
CSP_STORED_DOCUMENT_DIRECTIVES = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": [SELF],
    "base-uri": [NONE],
    "form-action": [NONE],
    "frame-ancestors": [NONE],
}
# First matching prefix wins; None keeps the portal's policy (both admin logins are
# allauth's login view, rendered by our own templates).
CSP_PATH_POLICIES = (
    ("/admin/login/", None),
    ("/django-admin/login/", None),
    ("/admin/", CSP_ADMIN_DIRECTIVES),
    ("/django-admin/", CSP_ADMIN_DIRECTIVES),
)
CSP_VIEW_POLICIES = {"scoring:model_report_file": CSP_STORED_DOCUMENT_DIRECTIVES}
# Wagtail's page preview runs a simulated request for the page's own URL through the
# middleware (``request.is_preview``): the portal's policy, but the admin may frame it.
CSP_PREVIEW_DIRECTIVES = {**CSP_PORTAL_DIRECTIVES, "frame-ancestors": [SELF]}
# Nothing in the admin loads from another origin: no Gravatar (it would send a hash of
# each editor's email to a third party) and no upgrade check against wagtail.org.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False

# Permissions-Policy (django-permissions-policy): no page uses a device, a sensor or
# payments, so none may, nor any frame inside it.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "bluetooth",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# --- Encryption at rest ---------------------------------------------------------------
# Fernet keys for stored credentials (core.crypto: webhook signing secrets, TOTP
# seeds), comma-separated: the first encrypts, every one decrypts, so a new key goes
# first and the old one stays until `manage.py encryption_rotate` has run. The key
# below is public (it is in the repository) and exists for dev and test only;
# config.settings.prod requires the variable, with no default, and refuses this key.
DEVELOPMENT_FIELD_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQta2V5LW5vdC1hLXNlY3JldC0wMDA="
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=[DEVELOPMENT_FIELD_ENCRYPTION_KEY]
)

# --- Public credit data provider ---------------------------------------------------------
# ``sandbox://`` routes the client to the in-process sandbox provider (the embedded
# default); a real node is an https:// URL with its own key.
# The sandbox's published demo API key and webhook secret: the embedded default uses
# them, config.settings.prod and the deploy check (core.checks) refuse them.
DEMO_SECRETS = ("sk_sandbox_public_demo_key", "whsec_sandbox_public_demo_secret")
CREDIT_PROVIDER_URL = env("CREDIT_PROVIDER_URL", default="sandbox://provider/v1")
CREDIT_PROVIDER_API_KEY = env("CREDIT_PROVIDER_API_KEY", default=DEMO_SECRETS[0])
CREDIT_PROVIDER_NAME = env("CREDIT_PROVIDER_NAME", default="sandbox")
CREDIT_PROVIDER_CONNECT_TIMEOUT = env.float(
    "CREDIT_PROVIDER_CONNECT_TIMEOUT", default=3.05
)
CREDIT_PROVIDER_READ_TIMEOUT = env.float("CREDIT_PROVIDER_READ_TIMEOUT", default=10.0)
CREDIT_PROVIDER_MAX_RETRIES = env.int("CREDIT_PROVIDER_MAX_RETRIES", default=3)
# Secret the provider signs its webhooks with; the sandbox uses the same default.
CREDIT_PROVIDER_WEBHOOK_SECRET = env(
    "CREDIT_PROVIDER_WEBHOOK_SECRET", default=DEMO_SECRETS[1]
)
# Whether this deployment serves the sandbox provider API under /sandbox/provider/v1/
# (config.urls mounts the routes only then); always false in config.settings.prod.
CREDIT_SANDBOX_ENABLED = env.bool("CREDIT_SANDBOX_ENABLED", default=True)

# --- Scoring ------------------------------------------------------------------------------
# Points scale: score = offset − factor × ln(PD / (1 − PD)), with factor = PDO / ln 2 and
# offset chosen so that good:bad odds of SCORING_BASE_ODDS score SCORING_BASE_SCORE.
SCORING_PDO = env.float("SCORING_PDO", default=20.0)
SCORING_BASE_SCORE = env.float("SCORING_BASE_SCORE", default=600.0)
SCORING_BASE_ODDS = env.float("SCORING_BASE_ODDS", default=50.0)
# Lowest score of each grade; below the last band is D (企业信用风险分类 A/B/C/D).
SCORING_GRADE_BANDS = {"A": 600.0, "B": 570.0, "C": 540.0}
SCORING_MODEL_DIR = env("SCORING_MODEL_DIR", default=str(BASE_DIR / "var" / "models"))
# xgboost threads: SCORING_NTHREAD for batch chunks and training (a worker process
# scoring 5,000 rows), SCORING_ONLINE_NTHREAD for one enterprise scored in a request,
# where a second thread only adds waiting (docs/benchmarks.md, "Issue 12").
SCORING_NTHREAD = env.int("SCORING_NTHREAD", default=2)
SCORING_ONLINE_NTHREAD = env.int("SCORING_ONLINE_NTHREAD", default=1)
# The owner's "refresh now" and "score now" are limited per enterprise: a pull reads
# every category from the provider (a shared quota), and a score follows every pull
# by itself, so a manual one is rarely needed.
PULL_NOW_MIN_INTERVAL_SECONDS = env.int("PULL_NOW_MIN_INTERVAL_SECONDS", default=600)
SCORE_NOW_MIN_INTERVAL_SECONDS = env.int("SCORE_NOW_MIN_INTERVAL_SECONDS", default=300)
SCORING_SEED = env.int("SCORING_SEED", default=20260101)

# --- Lenders -----------------------------------------------------------------------------
# Highest annual rate a product may advertise (the judicial protection ceiling for
# private lending is 4 × LPR; banks' SME products sit far below it).
LOAN_RATE_CAP = Decimal(env("LOAN_RATE_CAP", default="24.00"))
# Highest amount (CNY) a loan product may offer. Checked by the product form, the bank
# API and the services; the database's own ceiling (lenders.models.AMOUNT_CEILING,
# CNY 10 billion) caps it, since a setting cannot be a database constraint.
LOAN_PRODUCT_AMOUNT_MAX = Decimal(
    env("LOAN_PRODUCT_AMOUNT_MAX", default="100000000.00")
)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
WEBHOOK_BACKOFF_SECONDS = env.int("WEBHOOK_BACKOFF_SECONDS", default=30)

# --- Health ---------------------------------------------------------------------------
HEALTHCHECK_TIMEOUT_SECONDS = env.float("HEALTHCHECK_TIMEOUT_SECONDS", default=1.5)

# --- Logging --------------------------------------------------------------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Wagtail's own django-tasks jobs log every state change at INFO.
        "django_tasks": {"level": "WARNING"},
    },
}
