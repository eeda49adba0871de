"""End to end in a real browser: sign up, confirm the email, log in, in both languages.

Chinese (the default language) lives at unprefixed URLs, English under ``/en/``. Every
page visited must render in the requested language and log nothing to the console.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import ConsoleLog

pytestmark = pytest.mark.e2e

PASSWORD = "Correct-Horse-42-battery"
# What <html lang> says for each LANGUAGE_CODE (base.html writes the BCP 47 form).
HTML_LANG = {"zh-hans": "zh-Hans", "en": "en"}
SIGNUP_HEADING = {"zh-hans": "注册", "en": "Sign Up"}
CONFIRM_LINK = re.compile(
    r"https?://[^\s/]+(?P<path>/(?:en/)?accounts/confirm-email/[^\s/]+/)"
)


def expect_lang(page: Page, language: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])


def wait_for_path(page: Page, path: str, timeout: float = 5_000) -> None:
    """Wait until the browser is on ``path``; fail saying where it is instead."""
    try:
        page.wait_for_url(lambda url: urlsplit(url).path == path, timeout=timeout)
    except PlaywrightTimeoutError:
        pass
    else:
        return
    lang = page.locator("html").get_attribute("lang")
    pytest.fail(
        f"expected the browser on {path}, it is on {page.url} (html lang={lang})",
        pytrace=False,
    )


def submit(page: Page) -> None:
    """Click the submit button of the page's own form (not the navbar's)."""
    page.locator("main form button[type=submit]").first.click()


@pytest.mark.parametrize(
    ("language", "prefix"), [("zh-hans", ""), ("en", "/en")], ids=["zh-hans", "en"]
)
def test_signup_confirm_login(
    page: Page,
    console: ConsoleLog,
    live_server,
    mailoutbox,
    tmp_path,
    language: str,
    prefix: str,
) -> None:
    email = f"e2e-{language}@example.com"

    # Sign up.
    page.goto(f"{prefix}/accounts/signup/")
    expect_lang(page, language)
    expect(page.locator("main h1")).to_contain_text(SIGNUP_HEADING[language])
    page.screenshot(path=tmp_path / f"signup-{language}.png", full_page=True)
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    submit(page)

    # "Verify your email" page, still in the same language.
    wait_for_path(page, f"{prefix}/accounts/confirm-email/")
    expect_lang(page, language)
    assert len(mailoutbox) == 1, [m.subject for m in mailoutbox]
    message = mailoutbox[-1]
    assert message.to == [email]
    match = CONFIRM_LINK.search(message.body)
    assert match, f"no confirmation link in:\n{message.body}"
    confirm_path = match["path"]
    assert confirm_path.startswith(f"{prefix}/accounts/"), confirm_path

    # Confirm (a POST form: ACCOUNT_CONFIRM_EMAIL_ON_GET is False).
    page.goto(confirm_path)
    expect_lang(page, language)
    expect(page.locator("main form button[type=submit]")).to_be_visible()
    submit(page)
    page.wait_for_url(lambda url: "/confirm-email/" not in url)
    expect_lang(page, language)

    # Log in; a user without an organization lands on the "no portal" page.
    page.goto(f"{prefix}/accounts/login/")
    expect_lang(page, language)
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    wait_for_path(page, f"{prefix}/portal/")
    expect_lang(page, language)
    expect(page.locator('[data-portal="none"]')).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_text(email)

    console.assert_clean()


def test_language_switcher_on_signup(page: Page, console: ConsoleLog) -> None:
    page.goto("/accounts/signup/")
    expect_lang(page, "zh-hans")
    expect(page.locator("main h1")).to_contain_text(SIGNUP_HEADING["zh-hans"])
    switcher = page.get_by_test_id("language-switcher")

    switcher.locator('button[name="language"][value="en"]').click()
    wait_for_path(page, "/en/accounts/signup/")
    expect_lang(page, "en")
    expect(page.locator("main h1")).to_contain_text(SIGNUP_HEADING["en"])

    switcher.locator('button[name="language"][value="zh-hans"]').click()
    wait_for_path(page, "/accounts/signup/")
    expect_lang(page, "zh-hans")
    expect(page.locator("main h1")).to_contain_text(SIGNUP_HEADING["zh-hans"])

    console.assert_clean()
