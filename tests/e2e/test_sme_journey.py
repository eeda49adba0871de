"""End to end in a real browser: the SME journey, in both languages.

Log in, register the enterprise (a mistyped USCC first, then a legal representative the
registry does not hold) with the name and legal representative the sandbox registry
holds, verify it with the code the sandbox "sent" (read from its outbox), read the
consent notice and grant the platform, see the pulled data and the score that followed
it without a click, revoke, and read the access log.
Chinese lives at unprefixed URLs, English under ``/en/``; every page must render in the
requested language and nothing may reach the browser console.
"""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from accounts.selectors import platform_organization
from borrowers.models import (
    AccessChannel,
    CreditAuthorization,
    DataAccessLog,
    Enterprise,
)
from borrowers.uscc import ALPHABET
from creditdata.synthetic import firm_profile, synthetic_uscc
from tests.e2e.conftest import ConsoleLog
from tests.e2e.test_signup_login import expect_lang, submit, wait_for_path
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.e2e

USCC_INDEX = {"zh-hans": 4242, "en": 4243}
# What the field error says about a wrong check character, in each language.
CHECK_ERROR = {
    "zh-hans": re.compile(r"第18位|校验"),
    "en": re.compile(r"check character", re.IGNORECASE),
}


@pytest.fixture(scope="module")
def fitted_model():
    """A small platform model; fitting is pure (no database), so it is fitted once."""
    from scoring.synthetic_sample import draw_sample
    from scoring.training import fit_platform_model

    sample = draw_sample(
        enterprises_per_vintage=300,
        vintages=(dt.date(2024, 6, 30), dt.date(2024, 12, 31), dt.date(2025, 6, 30)),
        processes=1,
    )
    return fit_platform_model(sample, seed=1, nthread=1)


def shoot(page: Page, tmp_path, name: str) -> None:
    """A full-page screenshot, into ``E2E_SCREENSHOT_DIR`` when it is set (to look at
    the pages), else into the test's temporary directory."""
    folder = os.environ.get("E2E_SCREENSHOT_DIR") or str(tmp_path)
    page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def mistyped(uscc: str) -> str:
    """``uscc`` with another (allowed) check character."""
    wrong = ALPHABET[(ALPHABET.index(uscc[-1]) + 1) % len(ALPHABET)]
    return uscc[:-1] + wrong


def forgive_invalid_form_status(console: ConsoleLog, url: str) -> None:
    """Drop the console error Chromium logs for a re-rendered invalid form.

    The registration view answers an invalid form with HTTP 400 on purpose (asserted by
    tests/borrowers/test_pages.py), and Chromium reports any 4xx document as
    "Failed to load resource". That one line is expected; any other error still fails.
    """
    expected = f"status of 400 (Bad Request) ({url}:"
    console.errors[:] = [error for error in console.errors if expected not in error]


def label(choice, language: str) -> str:
    with translation.override(language):
        return str(choice.label)


def gettext(message: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("language", "prefix"), [("zh-hans", ""), ("en", "/en")], ids=["zh-hans", "en"]
)
def test_sme_journey(
    page: Page,
    console: ConsoleLog,
    fitted_model,
    tmp_path,
    language: str,
    prefix: str,
) -> None:
    from scoring.services import model_promote
    from scoring.training import register_model

    # --- set-up in the database (live_server tests flush it between tests) ------------
    model_promote(model=register_model(fitted_model), promoted_by=None)
    user = UserFactory()
    uscc = synthetic_uscc(USCC_INDEX[language])
    # Registration must match the registry record (the sandbox's synthetic one).
    profile = firm_profile(uscc)
    name = profile.name

    # --- log in: no organization yet ----------------------------------------------------
    page.goto(f"{prefix}/accounts/login/")
    expect_lang(page, language)
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    wait_for_path(page, f"{prefix}/portal/")
    expect_lang(page, language)
    none = page.locator('[data-portal="none"]')
    expect(none).to_be_visible()
    register_link = none.locator(f'a[href="{prefix}/portal/enterprise/register/"]')
    expect(register_link).to_be_visible()

    # --- register the enterprise: a mistyped check character first ---------------------
    register_link.click()
    wait_for_path(page, f"{prefix}/portal/enterprise/register/")
    expect_lang(page, language)
    page.fill("input[name=uscc]", mistyped(uscc))
    page.fill("input[name=name]", name)
    page.fill("input[name=legal_representative]", profile.legal_representative)
    page.fill("input[name=registered_capital]", "5000000")
    page.fill("input[name=founded_on]", "2016-03-18")
    page.select_option("select[name=industry]", "C")
    page.select_option("select[name=district]", "440306")
    page.fill("input[name=employees]", "42")
    submit(page)
    wait_for_path(page, f"{prefix}/portal/enterprise/register/")
    expect_lang(page, language)
    uscc_error = page.locator('.invalid-feedback[data-field="uscc"]')
    expect(uscc_error).to_have_count(1)
    expect(uscc_error).to_have_text(CHECK_ERROR[language])
    assert not Enterprise.objects.exists()
    forgive_invalid_form_status(console, page.url)
    # The other fields keep what was typed; only the code is corrected.
    expect(page.locator("input[name=name]")).to_have_value(name)
    # --- a legal representative the registry does not hold: refused, nothing kept ---
    page.fill("input[name=uscc]", uscc)
    page.fill("input[name=legal_representative]", "冒名顶替")
    submit(page)
    wait_for_path(page, f"{prefix}/portal/enterprise/register/")
    expect_lang(page, language)
    representative_error = page.locator(
        '.invalid-feedback[data-field="legal_representative"]'
    )
    expect(representative_error).to_have_count(1)
    expect(representative_error).to_have_text(
        gettext(
            "This legal representative does not match the registry record for this "
            "Unified Social Credit Code.",
            language,
        )
    )
    assert profile.legal_representative not in page.content()  # never revealed
    assert not Enterprise.objects.exists()
    forgive_invalid_form_status(console, page.url)
    shoot(page, tmp_path, f"register-refused-{language}")
    page.fill("input[name=legal_representative]", profile.legal_representative)
    submit(page)
    wait_for_path(page, f"{prefix}/portal/enterprise/verify/")
    expect_lang(page, language)
    enterprise = Enterprise.objects.get()
    assert (enterprise.uscc, enterprise.name) == (uscc, name)
    assert enterprise.verification_status == "unverified"

    # --- real-name verification: the code "sent" to the registered contact ----------
    page.locator("button[name=action][value=send]").click()
    wait_for_path(page, f"{prefix}/portal/enterprise/verify/")
    expect(page.get_by_test_id("code-sent")).to_be_visible()
    shoot(page, tmp_path, f"verify-{language}")
    outbox_href = (
        page.get_by_test_id("sandbox-outbox").locator("a").get_attribute("href")
    )
    assert outbox_href == f"/sandbox/provider/outbox/?uscc={uscc}"
    page.goto(outbox_href)
    code = page.get_by_test_id("code").first.inner_text().strip()
    shoot(page, tmp_path, f"outbox-{language}")
    assert re.fullmatch(r"[0-9]{6}", code), code
    page.goto(f"{prefix}/portal/enterprise/verify/")
    page.fill("input[name=code]", code)
    page.get_by_test_id("confirm-form").locator("button[type=submit]").click()
    wait_for_path(page, f"{prefix}/portal/enterprise/consents/new/")
    expect_lang(page, language)
    enterprise.refresh_from_db()
    assert enterprise.verification_status == "verified"

    # --- consent: read the notice, then grant it ------------------------------------
    form = page.locator("main form")
    grantee = form.locator("select[name=grantee]")
    platform_label = grantee.locator("option:checked").inner_text()
    assert platform_label.strip(), "no grantee preselected"
    page.select_option("select[name=purpose]", "scoring")
    categories = form.locator("input[name=categories]")
    assert categories.count() > 0
    for index in range(categories.count()):
        expect(categories.nth(index)).to_be_checked()
    expect(form.locator("input[name=months]")).to_have_value("12")
    expect(form.locator("input[name=retention_days]")).not_to_have_value("")
    form.locator("button[name=action][value=preview]").click()
    notice = page.get_by_test_id("notice")
    expect(notice).to_be_visible()
    expect_lang(page, language)
    expect(notice).to_contain_text(name)
    expect(notice).to_contain_text(uscc)
    shoot(page, tmp_path, f"consent-{language}")
    page.check("input[name=agree]")
    page.locator("button[name=action][value=grant]").click()
    wait_for_path(page, f"{prefix}/portal/enterprise/consents/")
    expect_lang(page, language)
    rows = page.locator("[data-testid=consents] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge.text-bg-success")).to_have_text(
        gettext("In force", language)
    )

    # --- the data the platform pulled (eagerly, from the in-process sandbox) ----------
    # The pull was followed by a score, with no click: the progress panel says so.
    page.goto(f"{prefix}/portal/enterprise/data/")
    expect_lang(page, language)
    expect(page.get_by_test_id("progress-score")).to_be_visible()
    shoot(page, tmp_path, f"data-{language}")
    overview = page.get_by_test_id("data-overview")
    tax_href = f'a[href="{prefix}/portal/enterprise/data/tax/"]'
    tax_link = overview.locator(tax_href)
    expect(tax_link).to_be_visible()
    # ``has`` is matched inside each row.
    tax_row = overview.locator("tbody tr").filter(has=page.locator(tax_href))
    tax_count = int(tax_row.locator("td").nth(1).inner_text().strip())
    assert tax_count > 0
    tax_link.click()
    wait_for_path(page, f"{prefix}/portal/enterprise/data/tax/")
    expect_lang(page, language)
    records = page.locator("[data-testid=records] tbody tr")
    expect(records.first).to_be_visible()
    assert records.count() == min(tax_count, 50)
    shoot(page, tmp_path, f"records-tax-{language}")

    # --- the score is there without a click; "score now" again is limited -----------
    page.goto(f"{prefix}/portal/enterprise/score/")
    expect_lang(page, language)
    latest = page.get_by_test_id("latest-score")
    expect(latest).to_be_visible()
    page.locator(
        f'main form[action="{prefix}/portal/enterprise/score/now/"] button[type=submit]'
    ).click()
    wait_for_path(page, f"{prefix}/portal/enterprise/score/")
    expect_lang(page, language)
    expect(page.locator(".alert-warning")).to_contain_text(
        re.compile(r"刚刚完成评分|scored a moment ago")
    )
    expect(latest).to_be_visible()
    grade = latest.locator("[data-grade]").get_attribute("data-grade")
    assert grade in {"A", "B", "C", "D"}, grade
    reasons = page.locator("[data-testid=reasons] li")
    if reasons.count():
        assert 1 <= reasons.count() <= 4, reasons.all_inner_texts()
    else:
        expect(page.locator("main")).to_contain_text(
            gettext("No factor lowered your score.", language)
        )
    shoot(page, tmp_path, f"score-{language}")

    # --- revoke -----------------------------------------------------------------------
    page.goto(f"{prefix}/portal/enterprise/consents/")
    expect_lang(page, language)
    page.get_by_test_id("revoke").click()
    wait_for_path(page, f"{prefix}/portal/enterprise/consents/")
    expect_lang(page, language)
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge.text-bg-success")).to_have_count(0)
    expect(rows.first.locator(".badge.text-bg-secondary")).to_have_text(
        gettext("Revoked", language)
    )
    expect(page.get_by_test_id("revoke")).to_have_count(0)
    assert CreditAuthorization.objects.get().revoked_at is not None

    # --- who read the data --------------------------------------------------------------
    page.goto(f"{prefix}/portal/enterprise/access-log/")
    expect_lang(page, language)
    log_rows = page.locator("[data-testid=access-log] tbody tr")
    expect(log_rows.first).to_be_visible()
    texts = log_rows.all_inner_texts()
    # The platform read the data twice over: when pulling it, and when scoring it.
    for channel in (AccessChannel.INGESTION, AccessChannel.SCORING):
        shown = label(channel, language)
        assert any(shown in text for text in texts), (shown, texts)
    platform = platform_organization()
    assert {AccessChannel.INGESTION, AccessChannel.SCORING} <= set(
        DataAccessLog.objects.filter(organization=platform).values_list(
            "channel", flat=True
        )
    )

    console.assert_clean()
