"""End to end in a real browser: no page breaks its Content-Security-Policy.

Every main page of each area is opened as the person who uses it (a visitor, an SME
owner, a bank admin, a CMS editor, a superuser in the Django admin); the page fixture
reports each ``securitypolicyviolation`` event of every frame, so one inline script or
style the policy refuses, or one request to another origin, fails the test. Each page
must also carry the policy of its area (core.csp) and render with its stylesheet.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Response, expect

from accounts import services as account_services
from accounts.models import OrganizationKind, Role
from borrowers.models import CreditAuthorization
from tests.e2e.conftest import ConsoleLog
from tests.e2e.test_signup_login import expect_lang, submit, wait_for_path
from tests.factories import OrganizationFactory, UserFactory, activate_totp, totp_code
from tests.factories.accounts import PASSWORD
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.factories.lenders import lender_with_staff

pytestmark = pytest.mark.e2e

LANGUAGES = pytest.mark.parametrize(
    ("language", "prefix"), [("zh-hans", ""), ("en", "/en")], ids=["zh-hans", "en"]
)


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def visit(page: Page, path: str, *, admin: bool = False) -> Response:
    """Open ``path``; it must answer 200 with its area's policy and be styled."""
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, (path, response.status)
    policy = directives(response.header_value("content-security-policy") or "")
    if admin:
        assert policy["script-src"] == ["'self'", "'unsafe-inline'"], path
    else:
        assert policy["script-src"][0] == "'self'", path
        assert policy["script-src"][1].startswith("'nonce-"), path
        assert "'unsafe-inline'" not in policy["style-src"], path
    page.wait_for_load_state("load")
    return response


def expect_portal_styles(page: Page) -> None:
    """Bootstrap and site.css applied (a refused stylesheet would leave defaults)."""
    body = page.locator("body")
    expect(body).to_have_css("display", "flex")
    expect(body).to_have_css("margin", "0px")


def seed_home_page() -> None:
    """The CMS home page; live_server tests flush the database, Wagtail's root page
    (made by its migrations) with it, so the root is made again first."""
    from wagtail.models import Locale
    from wagtail.models import Page as WagtailPage

    from cms.seed import seed

    if WagtailPage.get_first_root_node() is None:
        locale, _created = Locale.objects.get_or_create(language_code="zh-hans")
        WagtailPage.add_root(
            instance=WagtailPage(title="Root", slug="root", locale=locale)
        )
    seed()


def log_in(page: Page, user, *, prefix: str = "", secret: str | None = None) -> None:
    page.goto(f"{prefix}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    if secret is not None:
        wait_for_path(page, f"{prefix}/accounts/2fa/authenticate/")
        page.fill("input[name=code]", totp_code(secret))
        submit(page)
    # /portal/ sends each role on to its own portal.
    page.wait_for_url(lambda url: urlsplit(url).path.startswith(f"{prefix}/portal/"))


@pytest.mark.django_db(transaction=True)
@LANGUAGES
def test_public_pages_keep_the_portal_policy(
    page: Page, console: ConsoleLog, language: str, prefix: str
) -> None:
    seed_home_page()
    first = visit(page, f"{prefix}/")
    expect_lang(page, language)
    expect_portal_styles(page)
    script_nonces = page.locator("script[src]").evaluate_all(
        "scripts => scripts.map(script => script.nonce)"
    )
    assert len(script_nonces) == 2 and len(set(script_nonces)) == 1
    assert f"'nonce-{script_nonces[0]}'" in first.header_value(
        "content-security-policy"
    )
    for path in ("/accounts/login/", "/accounts/signup/", "/products/"):
        visit(page, f"{prefix}{path}")
        expect_lang(page, language)
        expect_portal_styles(page)
    console.assert_clean()


@pytest.mark.django_db(transaction=True)
def test_enterprise_pages_keep_the_portal_policy(
    page: Page, console: ConsoleLog
) -> None:
    enterprise, owner = enterprise_with_owner()
    authorization: CreditAuthorization = grant(enterprise, owner)
    log_in(page, owner, prefix="/en")
    for path in (
        "/en/portal/",
        "/en/portal/enterprise/consents/",
        f"/en/portal/enterprise/consents/{authorization.pk}/",
        "/en/portal/enterprise/data/",
        "/en/portal/enterprise/score/",
        "/en/portal/enterprise/access-log/",
        "/en/accounts/email/",
        "/en/accounts/password/change/",
        "/en/accounts/2fa/",
        "/en/accounts/sessions/",
        "/en/portal/enterprise/consents/new/",
    ):
        visit(page, path)
        expect_portal_styles(page)
    # Bootstrap's dropdown, placed by Popper (styles set from script, which CSP allows).
    page.get_by_test_id("user-menu").click()
    expect(page.locator(".dropdown-menu.show")).to_be_visible()
    # The notice keeps its line breaks through the CSS class, not an inline style.
    page.locator("main form button[name=action][value=preview]").click()
    notice = page.get_by_test_id("notice")
    expect(notice).to_be_visible()
    expect(notice).to_have_css("white-space", "pre-wrap")
    console.assert_clean()


@pytest.mark.django_db(transaction=True)
def test_bank_pages_and_api_docs_keep_the_portal_policy(
    page: Page, console: ConsoleLog
) -> None:
    _lender, admin, _reviewer = lender_with_staff()
    secret = activate_totp(admin)
    log_in(page, admin, secret=secret)
    for path in (
        "/portal/bank/",
        "/portal/bank/products/",
        "/portal/bank/products/new/",
        "/portal/bank/branches/",
        "/portal/bank/branches/new/",
        "/portal/bank/api-keys/",
        "/portal/bank/webhook/",
    ):
        visit(page, path)
        expect_portal_styles(page)
    # Swagger UI runs its init script and style under the nonce, fetches the schema.
    visit(page, "/api/v1/docs/")
    expect(page.locator("#swagger-ui .info .title")).to_be_visible()
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    console.assert_clean()


@pytest.fixture
def one_writer_per_request(settings):
    """No session-activity write on every request.

    The admin page fetches its sprite, translations and editing-session pings in
    parallel; on SQLite's shared-cache test database each of those activity writes
    locks the whole table and the others fail (503). PostgreSQL has row locks.
    """
    settings.USERSESSIONS_TRACK_ACTIVITY = False


def forgive_missing_favicon(console: ConsoleLog) -> None:
    """Django's admin links no favicon, so Chromium asks for /favicon.ico (a 404)."""
    console.errors[:] = [e for e in console.errors if "/favicon.ico" not in e]


def _cms_editor():
    """A promotion-office editor with TOTP, in Wagtail's Editors group.

    live_server tests flush the database, Wagtail's groups with it; the group and its
    page permissions are made again as Wagtail's migrations make them.
    """
    from django.contrib.auth.models import Group, Permission
    from wagtail.models import GroupPagePermission, Page
    from wagtail.users.models import UserProfile

    group, _created = Group.objects.get_or_create(name="Editors")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    root = Page.objects.get(depth=1)
    for codename in ("add_page", "change_page", "publish_page"):
        GroupPagePermission.objects.get_or_create(
            group=group,
            page=root,
            permission=Permission.objects.get(
                content_type__app_label="wagtailcore", codename=codename
            ),
        )
    user = UserFactory()
    office = OrganizationFactory(kind=OrganizationKind.PROMOTION_OFFICE)
    account_services.membership_create(user=user, organization=office, role=Role.EDITOR)
    # The admin in English, so the test can find buttons by their labels.
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "en"
    profile.save()
    return user, activate_totp(user)


@pytest.mark.django_db(transaction=True)
def test_wagtail_admin_works_under_the_admin_policy(
    page: Page, console: ConsoleLog, one_writer_per_request
) -> None:
    from cms.models import HomePage

    seed_home_page()
    editor, secret = _cms_editor()
    # The admin's login page is the portal's login view, under the portal's policy.
    visit(page, "/admin/login/?next=/admin/")
    page.fill("input[name=login]", editor.email)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    wait_for_path(page, "/accounts/2fa/authenticate/")
    page.fill("input[name=code]", totp_code(secret))
    submit(page)
    wait_for_path(page, "/admin/")
    home = HomePage.objects.filter(locale__language_code="zh-hans").get()
    for path in (
        "/admin/",
        "/admin/pages/",
        f"/admin/pages/{home.pk}/",
        "/admin/images/",
        "/admin/documents/",
    ):
        visit(page, path, admin=True)
        expect(page.locator("#main")).to_be_visible()
    # The page editor: StreamField, inline panels and date widgets (inline scripts).
    visit(page, f"/admin/pages/{home.pk}/edit/", admin=True)
    expect(page.locator("form[data-edit-form]")).to_be_visible()
    # The live preview renders the portal's template inside the admin (framed, 'self').
    page.locator('[data-side-panel-toggle="preview"]').click()
    preview = page.frame_locator("iframe#w-preview-iframe")
    expect(preview.locator("main")).to_be_visible()
    # A chooser modal: its HTML and inline script come from the server (ModalWorkflow).
    page.locator("button.c-sf-add-button").first.click()
    page.get_by_role("option", name="Image").click()
    page.get_by_role("button", name="Choose an image").first.click()
    expect(page.locator(".modal.show, .modal[style*='block']").first).to_be_visible()
    expect(page.locator(".modal").first).to_contain_text("Choose an image")
    # Leave the editor inside the test: its lock release is sent as the page goes.
    visit(page, "/admin/", admin=True)
    console.assert_clean()


@pytest.mark.django_db(transaction=True)
def test_django_admin_works_under_the_admin_policy(
    page: Page, console: ConsoleLog, one_writer_per_request
) -> None:
    superuser = UserFactory(is_staff=True, is_superuser=True)
    secret = activate_totp(superuser)
    visit(page, "/django-admin/login/?next=/django-admin/")
    page.fill("input[name=login]", superuser.email)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    wait_for_path(page, "/accounts/2fa/authenticate/")
    page.fill("input[name=code]", totp_code(secret))
    submit(page)
    wait_for_path(page, "/django-admin/")
    for path in (
        "/django-admin/",
        "/django-admin/accounts/user/",
        f"/django-admin/accounts/user/{superuser.pk}/change/",
        "/django-admin/django_celery_beat/periodictask/add/",
    ):
        visit(page, path, admin=True)
        expect(page.locator("#content")).to_be_visible()
    forgive_missing_favicon(console)
    console.assert_clean()
