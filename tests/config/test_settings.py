"""The settings modules, exercised in fresh processes exactly as they would boot."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SERVICE_VARIABLES and not key.startswith("DJANGO_")
    }
    env.update(extra)
    return env


def prod_env(tmp_path, **overrides: str) -> dict[str, str]:
    """A complete production environment (every required variable, real-looking
    provider values); no other CREDIT_* variable leaks in from the calling shell."""
    env = {
        key: value
        for key, value in _clean_env().items()
        if not key.startswith("CREDIT_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.prod",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="xyd.example.cn",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        SITE_BASE_URL="https://xyd.example.cn",
        CREDIT_PROVIDER_URL="https://api.credit.example.cn/v1",
        CREDIT_PROVIDER_API_KEY=f"sk_live_{secrets.token_urlsafe(32)}",
        CREDIT_PROVIDER_WEBHOOK_SECRET=f"whsec_{secrets.token_urlsafe(32)}",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    env.update(overrides)
    return env


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


BOOT_SCRIPT = r"""
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
from django.conf import settings
# Same settings as `make demo`, but the SQLite file goes to a temporary folder so the
# test never touches the developer's database.
settings.DATABASES["default"]["NAME"] = sys.argv[1] if len(sys.argv) > 1 else os.environ["BOOT_DB"]
import django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
call_command("seed_demo", model_enterprises=150, stdout=open(os.devnull, "w"))
client = Client(HTTP_HOST="127.0.0.1")
zh = client.get("/")
en = client.get("/en/")
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "email": settings.EMAIL_BACKEND,
    "email_delivery": settings.EMAIL_DELIVERY_BACKEND,
    "zh_status": zh.status_code,
    "en_status": en.status_code,
    "zh_has_hero": "以信换贷" in zh.content.decode(),
    "en_has_hero": "Credit makes lending easy" in en.content.decode(),
}))
"""


def test_embedded_default_boots_and_serves_home_page_without_environment(tmp_path):
    result = _run(BOOT_SCRIPT, _clean_env(BOOT_DB=str(tmp_path / "demo.sqlite3")))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "engine": "django.db.backends.sqlite3",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "eager": True,
        "email": "core.mail.OutboxEmailBackend",
        "email_delivery": "django.core.mail.backends.console.EmailBackend",
        "zh_status": 200,
        "en_status": 200,
        "zh_has_hero": True,
        "en_has_hero": True,
    }


SETTINGS_SCRIPT = r"""
import json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": settings.DATABASES["default"]["NAME"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"]["LOCATION"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
}))
"""


def test_service_urls_switch_to_postgresql_redis_and_a_real_broker():
    env = _clean_env(
        DATABASE_URL="postgres://app@db.internal:5432/xinyidai",
        REDIS_URL="redis://cache.internal:6379/1",
        CELERY_BROKER_URL="redis://broker.internal:6379/0",
    )
    result = _run(SETTINGS_SCRIPT, env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == {
        "engine": "django.db.backends.postgresql",
        "name": "xinyidai",
        "cache": "django.core.cache.backends.redis.RedisCache",
        "cache_location": "redis://cache.internal:6379/1",
        "eager": False,
        "broker": "redis://broker.internal:6379/0",
    }


def _deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_production_settings_pass_the_deploy_check_with_zero_issues(tmp_path):
    env = prod_env(tmp_path)
    result = _deploy_check(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"]
)
def test_production_settings_have_no_default_for_secrets(tmp_path, missing):
    env = prod_env(tmp_path)
    del env[missing]
    result = _deploy_check(env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_xgboost_comes_from_the_cpu_wheel_without_cuda():
    assert metadata.distribution("xgboost-cpu").version
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution("nvidia-nccl-cu12")
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution("xgboost")
