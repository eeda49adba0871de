"""Test settings: the same wiring as production, with fast hashing and captured email.

Services come from the environment exactly as in production: with ``DATABASE_URL`` the
suite runs on PostgreSQL, with ``REDIS_URL`` the cache is Redis, with
``CELERY_BROKER_URL`` worker tests talk to a real broker. Otherwise everything is embedded.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = False
SECRET_KEY = "test-only-not-secret-3b1f7d9e2a4c6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Queued through the outbox as in production; delivered to django.core.mail.outbox.
EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Real files, in one place every process of a test run shares (the test process, the
# live server and Celery worker subprocesses all load models from it).
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "var" / "test-media"))  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
# Tests that need a worker start a real one; everything else runs tasks in-process.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="xinyidai-test")
# Not the test client's host: a link built from the request would show.
SITE_BASE_URL = WAGTAILADMIN_BASE_URL = "https://xinyidai.example.cn"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
