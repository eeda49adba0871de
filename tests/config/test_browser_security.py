"""Browser hardening: the CSP of each area, Permissions-Policy, __Host- cookies, and a
gunicorn that does not say its version."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts import services as account_services
from accounts.models import OrganizationKind, Role
from accounts.selectors import platform_organization
from tests.config.test_settings import ROOT, _run, prod_env
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    activate_totp,
)
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.factories.lenders import lender_with_staff

GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
NONCE = re.compile(r"^'nonce-([A-Za-z0-9+/=]+)'$")
PORTAL_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce-…'"],
    "style-src": ["'self'", "'nonce-…'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
ADMIN_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'unsafe-inline'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "frame-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), bluetooth=(), browsing-topics=(), camera=(), "
    "display-capture=(), encrypted-media=(), geolocation=(), gyroscope=(), hid=(), "
    "idle-detection=(), magnetometer=(), microphone=(), midi=(), payment=(), "
    "picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), "
    "serial=(), usb=(), xr-spatial-tracking=()"
)


def policy_of(response) -> dict[str, list[str]]:
    """The response's CSP as {directive: sources}, every nonce written ``'nonce-…'``."""
    policy: dict[str, list[str]] = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        policy[name] = [
            "'nonce-…'" if NONCE.match(source) else source for source in sources
        ]
    return policy


def nonce_of(response) -> str:
    """The one nonce of the response's policy (the same in script-src and style-src)."""
    found = set(
        re.findall(r"'nonce-([A-Za-z0-9+/=]+)'", response["Content-Security-Policy"])
    )
    assert len(found) == 1, response["Content-Security-Policy"]
    return found.pop()


def script_nonces(html: str) -> list[str]:
    return re.findall(r"<script\b[^>]*\bnonce=\"([^\"]*)\"", html)


@pytest.fixture
def home_page(db):
    from cms.seed import seed as seed_cms

    seed_cms()


@pytest.fixture
def signed_in_owner(client, db):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner)
    client.force_login(owner)
    return owner


# --- the portal ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "signed_in"),
    [
        ("/", False),
        ("/en/", False),
        ("/accounts/login/", False),
        ("/en/accounts/signup/", False),
        ("/portal/enterprise/consents/", True),
        ("/en/portal/enterprise/data/", True),
    ],
)
def test_portal_page_has_a_nonce_policy_matching_its_scripts(
    client, home_page, request, path, signed_in
):
    if signed_in:
        request.getfixturevalue("signed_in_owner")
    first, second = client.get(path), client.get(path)
    assert (first.status_code, second.status_code) == (200, 200)
    assert policy_of(first) == PORTAL_POLICY
    nonce = nonce_of(first)
    assert nonce != nonce_of(second)
    html = first.content.decode()
    # Every <script> carries the nonce of its own response, and nothing is inline.
    assert script_nonces(html) == [nonce, nonce]
    assert len(re.findall(r"<script\b", html)) == 2
    assert " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None
    assert (
        '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false, '
        '"allowEval": false}\'>' in html
    )


def test_portal_script_src_never_allows_inline_or_eval():
    for directive in ("script-src", "style-src"):
        sources = settings.CSP_PORTAL_DIRECTIVES[directive]
        assert "'unsafe-inline'" not in sources
        assert "'unsafe-eval'" not in sources


@pytest.mark.parametrize(
    "path", ["/admin/login/?next=/admin/", "/django-admin/login/?next=/django-admin/"]
)
def test_admin_login_pages_are_portal_pages_with_the_portal_policy(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert policy_of(response) == PORTAL_POLICY
    assert script_nonces(response.content.decode()) == [nonce_of(response)] * 2


def test_consent_notice_keeps_its_line_breaks_through_a_css_class(
    client, signed_in_owner
):
    from borrowers.models import CreditAuthorization

    authorization = CreditAuthorization.objects.get()
    response = client.get(reverse("creditdata:consent_detail", args=[authorization.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<pre class="border rounded p-3 bg-body-tertiary text-pre-wrap">' in html
    assert " style=" not in html
    css = (ROOT / "static" / "css" / "site.css").read_text()
    assert ".text-pre-wrap { white-space: pre-wrap; }" in css
    assert ".htmx-indicator { opacity: 0; visibility: hidden; }" in css


def test_api_docs_run_their_inline_init_script_under_the_nonce(client, db):
    _lender, admin, _reviewer = lender_with_staff()
    activate_totp(admin)
    client.force_login(admin)
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert policy_of(response) == PORTAL_POLICY
    nonce = nonce_of(response)
    html = response.content.decode()
    assert re.findall(r"<style\b[^>]*\bnonce=\"([^\"]*)\"", html) == [nonce]
    # The Swagger UI bundle, its preset and the inline init script.
    assert script_nonces(html) == [nonce, nonce, nonce]
    assert len(re.findall(r"<script\b", html)) == 3
    assert "SwaggerUIBundle({" in html


def test_a_nonce_read_after_the_header_is_written_cannot_be_rendered(rf):
    from csp.exceptions import CSPNonceError
    from django.http import HttpResponse
    from django.template import Context, Template

    from core.csp import AreaCSPMiddleware, NonceAfterHeader

    request = rf.get("/")
    response = AreaCSPMiddleware(lambda request: HttpResponse("no nonce used"))(request)
    # No nonce was read while rendering, so the policy has none.
    assert "nonce" not in response["Content-Security-Policy"]
    # Inspecting the finished request is harmless; rendering its nonce is refused.
    assert isinstance(request.csp_nonce, NonceAfterHeader)
    with pytest.raises(CSPNonceError):
        Template("{{ request.csp_nonce }}").render(Context({"request": request}))


# --- the admins -----------------------------------------------------------------------
def test_wagtail_admin_has_the_documented_admin_policy(client, home_page):
    from django.contrib.auth.models import Group, Permission

    # Wagtail's migrations make the Editors group; a membership puts the editor in it.
    assert (
        Group.objects.get(name="Editors")
        .permissions.filter(codename="access_admin")
        .exists()
    )
    editor = UserFactory()
    office = OrganizationFactory(kind=OrganizationKind.PROMOTION_OFFICE)
    account_services.membership_create(
        user=editor, organization=office, role=Role.EDITOR
    )
    activate_totp(editor)
    client.force_login(editor)
    assert Permission.objects.filter(codename="access_admin").exists()
    for path in ("/admin/", "/admin/pages/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert policy_of(response) == ADMIN_POLICY, path
        assert settings.CSP_ADMIN_DIRECTIVES == ADMIN_POLICY


def test_django_admin_has_the_documented_admin_policy(client, db):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    activate_totp(superuser)
    client.force_login(superuser)
    response = client.get("/django-admin/accounts/user/")
    assert response.status_code == 200
    assert policy_of(response) == ADMIN_POLICY


def test_wagtail_preview_keeps_the_portal_policy_but_may_be_framed_by_the_admin(
    home_page,
):
    from cms.models import HomePage

    home = HomePage.objects.filter(locale__language_code="zh-hans").get()
    response = home.make_preview_request()
    assert response.status_code == 200
    assert policy_of(response) == {**PORTAL_POLICY, "frame-ancestors": ["'self'"]}
    assert script_nonces(response.content.decode()) == [nonce_of(response)] * 2


def test_model_report_gets_the_stored_document_policy(client, db, settings, tmp_path):
    from scoring.models import ModelKind, ModelVersion

    settings.MEDIA_ROOT = str(tmp_path)
    default_storage.save(
        "models/csp/report.html",
        ContentFile(b"<!DOCTYPE html><style>body{margin:0}</style><img src=roc.png>"),
    )
    model = ModelVersion.objects.create(
        version="csp-report",
        kind=ModelKind.PLATFORM,
        artifact="models/csp/model.ubj",
        artifact_sha256="0" * 64,
        features=[],
        monotone_constraints=[],
        calibration={},
        scale={},
        training_data_sha256="0" * 64,
        metrics={},
        report="models/csp/report.html",
    )
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    for prefix in ("", "/en"):
        response = client.get(
            f"{prefix}/portal/operator/models/{model.pk}/report/report.html"
        )
        assert response.status_code == 200
        assert policy_of(response) == {
            "default-src": ["'none'"],
            "style-src": ["'unsafe-inline'"],
            "img-src": ["'self'"],
            "base-uri": ["'none'"],
            "form-action": ["'none'"],
            "frame-ancestors": ["'none'"],
        }


# --- Permissions-Policy -----------------------------------------------------------------
# Not /healthz: its checks run in threads kept for the whole process, whose in-memory
# SQLite connections would outlive this test (the gunicorn test below covers it).
@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/admin/login/", "/jsi18n/", "/api/schema/"]
)
def test_every_response_has_the_permissions_policy(client, home_page, path):
    response = client.get(path)
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY


def test_a_missing_page_has_both_policies_too(client, db):
    response = client.get("/en/no-such-page/")
    assert response.status_code == 404
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY
    assert policy_of(response) == PORTAL_POLICY


# --- cookies ----------------------------------------------------------------------------
PROD_COOKIES = r"""
import json, django
from django.conf import settings
# No collectstatic here: the manifest storage would refuse {% static %} on the page.
settings.STORAGES = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
django.setup()
from django.test import Client
client = Client(HTTP_HOST="xyd.example.cn")
response = client.get("/accounts/login/", secure=True)
cookie = response.cookies[settings.CSRF_COOKIE_NAME]
print(json.dumps({
    "session": [settings.SESSION_COOKIE_NAME, settings.SESSION_COOKIE_SECURE,
                settings.SESSION_COOKIE_DOMAIN, settings.SESSION_COOKIE_PATH],
    "csrf": [settings.CSRF_COOKIE_NAME, settings.CSRF_COOKIE_SECURE,
             settings.CSRF_COOKIE_DOMAIN, settings.CSRF_COOKIE_PATH],
    "status": response.status_code,
    "set_cookie": [cookie.key, bool(cookie["secure"]), cookie["domain"], cookie["path"]],
}))
"""


def test_production_cookies_are_host_prefixed_secure_root_path_and_host_only(tmp_path):
    result = _run(PROD_COOKIES, prod_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "session": ["__Host-sessionid", True, None, "/"],
        "csrf": ["__Host-csrftoken", True, None, "/"],
        "status": 200,
        "set_cookie": ["__Host-csrftoken", True, "", "/"],
    }


def test_development_and_test_keep_the_plain_cookie_names():
    # Served over http: a browser refuses a __Host- cookie that is not Secure.
    assert (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME) == (
        "sessionid",
        "csrftoken",
    )


# --- gunicorn ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": "xyd.example.cn"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


@contextlib.contextmanager
def running_gunicorn(
    env: dict[str, str], log: Path, *, app: str = "config.wsgi", cwd: Path = ROOT
) -> Iterator[int]:
    """gunicorn with config/gunicorn.conf.py on a free loopback port, until the block
    ends; yields the port once it answers."""
    port = _free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), app]
    with log.open("w") as output:
        server = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.25)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_gunicorn_with_the_project_config_sends_no_version(tmp_path):
    log = tmp_path / "gunicorn.log"
    with running_gunicorn(prod_env(tmp_path), log) as port:
        response = _get(port, "/healthz")
    assert response.getheader("Server") == "gunicorn"
    assert response.getheader("Permissions-Policy") == PERMISSIONS_POLICY
    assert "Content-Security-Policy" in dict(response.getheaders())
    # The access log line went to stdout (accesslog = "-").
    assert '"GET /healthz HTTP/1.1"' in log.read_text()


ECHO_APP = """
import os


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(environ["SERVER_SOFTWARE"] + "|" + os.environ["SERVER_SOFTWARE"]).encode()]
"""


def test_gunicorn_keeps_its_version_out_of_the_wsgi_environ_too(tmp_path):
    (tmp_path / "echo.py").write_text(ECHO_APP)
    env = {key: value for key, value in os.environ.items() if key != "SERVER_SOFTWARE"}
    with running_gunicorn(env, tmp_path / "log", app="echo", cwd=tmp_path) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        body = connection.getresponse().read().decode()
        connection.close()
    assert body == "gunicorn|gunicorn"


def test_gunicorn_config_reads_bind_and_workers_from_the_environment(tmp_path):
    script = r"""
import json, runpy
config = runpy.run_path("config/gunicorn.conf.py")
print(json.dumps({key: config[key] for key in (
    "bind", "workers", "timeout", "accesslog", "preload_app", "forwarded_allow_ips")}))
"""
    base = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"GUNICORN_BIND", "PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"}
    }
    runs = {
        "default": _run(script, base),
        "port": _run(script, {**base, "PORT": "9001", "WEB_CONCURRENCY": "4"}),
        "bind": _run(
            script,
            {
                **base,
                "PORT": "9001",
                "GUNICORN_BIND": "unix:/run/xyd.sock",
                "FORWARDED_ALLOW_IPS": "10.0.0.5",
            },
        ),
    }
    reports = {}
    for name, result in runs.items():
        assert result.returncode == 0, result.stderr
        reports[name] = json.loads(result.stdout)
    common = {"timeout": 30, "accesslog": "-", "preload_app": True}
    assert reports == {
        "default": {
            "bind": ["127.0.0.1:8000"],
            "workers": 2,
            "forwarded_allow_ips": "127.0.0.1,::1",
            **common,
        },
        "port": {
            "bind": ["0.0.0.0:9001"],
            "workers": 4,
            "forwarded_allow_ips": "127.0.0.1,::1",
            **common,
        },
        "bind": {
            "bind": ["unix:/run/xyd.sock"],
            "workers": 2,
            "forwarded_allow_ips": "10.0.0.5",
            **common,
        },
    }
