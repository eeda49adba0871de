"""Production never runs on the sandbox provider (issue 11).

config.settings.prod requires the provider URL, API key and webhook secret from the
environment, refuses the sandbox and its published demo credentials, and never mounts
the sandbox routes; ``check --deploy`` reports the same mistakes (core.checks) for any
settings module. Prod settings are exercised in fresh processes, as in test_settings.py.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings

from core.checks import check_credit_provider, is_sandbox_url
from creditdata.synthetic import synthetic_uscc
from tests.config.test_settings import ROOT, _deploy_check
from tests.config.test_settings import prod_env as _prod_env

PROVIDER_VARIABLES = (
    "CREDIT_PROVIDER_URL",
    "CREDIT_PROVIDER_API_KEY",
    "CREDIT_PROVIDER_WEBHOOK_SECRET",
)
DEMO_API_KEY, DEMO_WEBHOOK_SECRET = settings.DEMO_SECRETS
USCC = synthetic_uscc(12)
SANDBOX_PATH = f"/sandbox/provider/v1/enterprises/{USCC}"


def _refused(result: subprocess.CompletedProcess[str], variable: str) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "ImproperlyConfigured" in result.stderr, result.stderr[-3000:]
    assert variable in result.stderr.strip().splitlines()[-1], result.stderr[-3000:]
    return result.stderr


# --- config.settings.prod refuses to start -----------------------------------------------


@pytest.mark.parametrize("missing", PROVIDER_VARIABLES)
def test_prod_requires_each_provider_variable(tmp_path, missing):
    env = _prod_env(tmp_path)
    del env[missing]
    stderr = _refused(_deploy_check(env), missing)
    assert f"Set the {missing} environment variable" in stderr


@pytest.mark.parametrize("empty", PROVIDER_VARIABLES)
def test_prod_refuses_an_empty_provider_variable(tmp_path, empty):
    stderr = _refused(_deploy_check(_prod_env(tmp_path, **{empty: " "})), empty)
    assert f"Set the {empty} environment variable" in stderr


@pytest.mark.parametrize(
    ("variable", "demo"),
    [
        ("CREDIT_PROVIDER_API_KEY", DEMO_API_KEY),
        ("CREDIT_PROVIDER_WEBHOOK_SECRET", DEMO_WEBHOOK_SECRET),
        # A demo value is refused under either name.
        ("CREDIT_PROVIDER_WEBHOOK_SECRET", DEMO_API_KEY),
    ],
)
def test_prod_refuses_a_demo_secret_without_printing_it(tmp_path, variable, demo):
    result = _deploy_check(_prod_env(tmp_path, **{variable: demo}))
    stderr = _refused(result, variable)
    assert "published demo value" in stderr
    assert demo not in stderr
    assert demo not in result.stdout


@pytest.mark.parametrize(
    "url",
    [
        "sandbox://provider/v1",
        "SANDBOX://provider/v1",
        "https://xyd.example.cn/sandbox/provider/v1",
        "http://127.0.0.1:8000/sandbox/provider/v1/",
    ],
)
def test_prod_refuses_a_sandbox_provider_url(tmp_path, url):
    stderr = _refused(
        _deploy_check(_prod_env(tmp_path, CREDIT_PROVIDER_URL=url)),
        "CREDIT_PROVIDER_URL",
    )
    assert "points at the sandbox provider" in stderr


def test_prod_refuses_to_enable_the_sandbox_routes(tmp_path):
    env = _prod_env(tmp_path, CREDIT_SANDBOX_ENABLED="true")
    _refused(_deploy_check(env), "CREDIT_SANDBOX_ENABLED")


def test_prod_with_real_provider_values_passes_the_deploy_check(tmp_path):
    result = _deploy_check(_prod_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


# --- the sandbox routes --------------------------------------------------------------------

PROD_URLS_SCRIPT = r"""
import json, sys
import django
django.setup()
from django.conf import settings
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from creditdata.sandbox_views import sandbox_api
try:
    match = resolve(sys.argv[1])
    routed_to_sandbox = match.func is sandbox_api
except Resolver404:
    routed_to_sandbox = False
try:
    reverse("sandbox:api", kwargs={"path": "/enterprises/x"})
    reversible = True
except NoReverseMatch:
    reversible = False
print(json.dumps({
    "enabled": settings.CREDIT_SANDBOX_ENABLED,
    "routed_to_sandbox": routed_to_sandbox,
    "reversible": reversible,
}))
"""


def test_prod_does_not_mount_the_sandbox_routes(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROD_URLS_SCRIPT, SANDBOX_PATH],
        cwd=ROOT,
        env=_prod_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "enabled": False,
        "routed_to_sandbox": False,
        "reversible": False,
    }


def _fresh_config_urls():
    """A new copy of config.urls built with the sandbox disabled, as under prod; the
    imported config.urls (and its URL caches) are left as they are."""
    spec = importlib.util.find_spec("config.urls")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with override_settings(CREDIT_SANDBOX_ENABLED=False):
        spec.loader.exec_module(module)
    return module


def test_sandbox_url_is_404_when_the_sandbox_is_disabled(client, db):
    # db: the URL falls through to Wagtail's page serving and redirect lookup.
    urls = _fresh_config_urls()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {settings.CREDIT_PROVIDER_API_KEY}"}
    with override_settings(ROOT_URLCONF=urls, CREDIT_SANDBOX_ENABLED=False):
        # CommonMiddleware first adds the slash (a 301), as for any unknown page.
        response = client.get(SANDBOX_PATH, follow=True, **auth)
        # The provider webhook stays: only the sandbox is gone.
        webhook = client.get("/webhooks/provider/")
    assert response.status_code == 404
    # No route matched it: a mounted sandbox route would have answered without a slash.
    assert response.redirect_chain == [(f"{SANDBOX_PATH}/", 301)]
    assert "application/json" not in response.get("Content-Type", "")
    assert webhook.status_code == 405


def test_sandbox_url_answers_as_today_under_the_test_settings(client, db):
    assert settings.CREDIT_SANDBOX_ENABLED is True
    assert client.get(SANDBOX_PATH).status_code == 401
    auth = {"HTTP_AUTHORIZATION": f"Bearer {settings.CREDIT_PROVIDER_API_KEY}"}
    response = client.get(SANDBOX_PATH, {"as_of": "2026-06-15"}, **auth)
    assert response.status_code == 200
    assert response.json()["uscc"] == USCC


# --- the deploy check (core.checks) ----------------------------------------------------

REAL = {
    "CREDIT_PROVIDER_URL": "https://api.credit.example.cn/v1",
    "CREDIT_PROVIDER_API_KEY": "sk_live_0123456789abcdef",
    "CREDIT_PROVIDER_WEBHOOK_SECRET": "whsec_live_0123456789abcdef",
    "CREDIT_SANDBOX_ENABLED": False,
}


def _ids(**overrides) -> list[str]:
    with override_settings(**{**REAL, **overrides}):
        errors = check_credit_provider()
    for error in errors:
        assert error.is_serious()
        assert all(secret not in error.msg for secret in settings.DEMO_SECRETS)
    return [error.id for error in errors]


def test_deploy_check_passes_a_real_provider():
    assert _ids() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"CREDIT_PROVIDER_URL": "sandbox://provider/v1"}, ["xinyidai.E001"]),
        (
            {"CREDIT_PROVIDER_URL": "https://xyd.example.cn/sandbox/provider/v1"},
            ["xinyidai.E001"],
        ),
        ({"CREDIT_PROVIDER_URL": ""}, ["xinyidai.E007"]),
        ({"CREDIT_SANDBOX_ENABLED": True}, ["xinyidai.E002"]),
        ({"CREDIT_PROVIDER_API_KEY": ""}, ["xinyidai.E003"]),
        ({"CREDIT_PROVIDER_API_KEY": DEMO_API_KEY}, ["xinyidai.E004"]),
        ({"CREDIT_PROVIDER_WEBHOOK_SECRET": "  "}, ["xinyidai.E005"]),
        ({"CREDIT_PROVIDER_WEBHOOK_SECRET": DEMO_WEBHOOK_SECRET}, ["xinyidai.E006"]),
    ],
)
def test_deploy_check_reports_each_bad_configuration(overrides, expected):
    assert _ids(**overrides) == expected


def test_deploy_check_reports_the_embedded_default_entirely():
    # The embedded default (the test settings' provider values) is all wrong for prod.
    with override_settings(
        CREDIT_PROVIDER_URL="sandbox://provider/v1",
        CREDIT_PROVIDER_API_KEY=DEMO_API_KEY,
        CREDIT_PROVIDER_WEBHOOK_SECRET=DEMO_WEBHOOK_SECRET,
        CREDIT_SANDBOX_ENABLED=True,
    ):
        ids = [error.id for error in check_credit_provider()]
    assert ids == ["xinyidai.E001", "xinyidai.E002", "xinyidai.E004", "xinyidai.E006"]


def test_deploy_check_is_registered_for_deploy_only():
    from django.core.checks import registry

    assert check_credit_provider in registry.registry.get_checks(
        include_deployment_checks=True
    )
    assert check_credit_provider not in registry.registry.get_checks()
    assert "security" in check_credit_provider.tags


@pytest.mark.parametrize(
    ("url", "sandbox"),
    [
        ("sandbox://provider/v1", True),
        ("https://xyd.example.cn/sandbox/provider/v1", True),
        ("https://xyd.example.cn/%73andbox/provider/v1", True),
        ("https://xyd.example.cn//sandbox/provider/v1", True),
        ("https://api.credit.example.cn/v1", False),
        ("https://api.credit.example.cn/v1/sandbox-free", False),
    ],
)
def test_is_sandbox_url(url, sandbox):
    assert is_sandbox_url(url) is sandbox
