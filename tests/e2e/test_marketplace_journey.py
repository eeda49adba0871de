"""End to end in a real browser: an SME is matched, applies, the bank reviews it.

The SME owner sees the product among the top matches on the dashboard with why it
fits, opens it, applies (amount, term, purpose, and the separate authorization to
the bank). The bank's reviewer signs in with a TOTP code, finds the application in
the queue, accepts it, starts the review and asks for information; the SME sees the
unread notification, answers with a PDF; the reviewer opens the answer and approves;
the SME sees the decision. In zh-hans (unprefixed URLs) and en (``/en/``), and
nothing may reach the browser console.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role
from borrowers.models import ConsentPurpose, CreditAuthorization
from marketplace.models import Application, ApplicationStatus, Notification
from tests.e2e.conftest import ConsoleLog
from tests.e2e.test_content_security_policy import log_in
from tests.e2e.test_signup_login import expect_lang, wait_for_path
from tests.e2e.test_sme_journey import shoot
from tests.factories import UserFactory, activate_totp
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.factories.lenders import LenderFactory, listed_product
from tests.factories.scoring import stored_score

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
QUESTION = {
    "zh-hans": "请提供近三个月的银行流水。",
    "en": "Please send your bank statements of the last three months.",
}
ANSWER = {"zh-hans": "已上传近三个月流水。", "en": "Statements attached."}


def _text(message: str, language: str, context: str | None = None) -> str:
    with translation.override(language):
        if context:
            return translation.pgettext(context, message)
        return translation.gettext(message)


def _world(language: str):
    """A bank with a reviewer (TOTP) and one listed product the SME is eligible for;
    a verified SME with a scoring consent and a score of grade B."""
    lender = LenderFactory(organization__name_en="Demo Commercial Bank")
    reviewer = UserFactory(preferred_language=language)
    Membership.objects.create(
        user=reviewer, organization=lender.organization, role=Role.REVIEWER
    )
    secret = activate_totp(reviewer)
    product = listed_product(
        lender=lender,
        name="科创信用贷",
        name_en="Tech Credit Loan",
        amount_min=Decimal("100000"),
        amount_max=Decimal("2000000"),
        term_min=3,
        term_max=24,
        rate_min=Decimal("3.50"),
        rate_max=Decimal("5.50"),
        min_grade="C",
        min_years_in_business=Decimal("1"),
        required_categories=["tax", "court"],
        response_days=3,
    )
    enterprise, owner = enterprise_with_owner(
        founded_on=dt.date(2018, 5, 1), name="深圳市远航智能科技有限公司"
    )
    owner.preferred_language = language
    owner.save(update_fields=["preferred_language"])
    grant(enterprise, owner, purpose=ConsentPurpose.SCORING)
    stored_score(
        enterprise,
        grade="B",
        score=668,
        pd=0.031,
        features={
            "tax_credit_grade": 3.0,
            "dishonest_debtor": 0.0,
            "unrepaired_penalties": 0.0,
            "serious_penalties_36m": 0.0,
        },
    )
    return product, owner, reviewer, secret


class Sessions:
    """The SME's and the reviewer's sessions in one browser context, switched by their
    cookies: a second sign-in would need a second TOTP code, which the platform
    refuses within the same 30 seconds (replay protection)."""

    def __init__(self, page: Page, prefix: str) -> None:
        self.page, self.prefix, self.cookies = page, prefix, {}

    def switch(self, user, *, secret: str | None = None) -> None:
        self.page.context.clear_cookies()
        if user.pk in self.cookies:
            self.page.context.add_cookies(self.cookies[user.pk])
        else:
            log_in(self.page, user, prefix=self.prefix, secret=secret)
            self.cookies[user.pk] = self.page.context.cookies()


def _on(page: Page, pattern: str) -> None:
    page.wait_for_url(lambda url: re.fullmatch(pattern, urlsplit(url).path) is not None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("language", "prefix"), [("zh-hans", ""), ("en", "/en")], ids=["zh-hans", "en"]
)
def test_sme_applies_and_the_bank_reviews_in_the_browser(
    page: Page, console: ConsoleLog, tmp_path, language: str, prefix: str
) -> None:
    product, owner, reviewer, secret = _world(language)
    product_name = product.name_en if language == "en" else product.name
    shot = f"marketplace-{language}"

    # 1. The SME's dashboard shows the product among its top matches, with why.
    sessions = Sessions(page, prefix)
    sessions.switch(owner)
    page.goto(f"{prefix}/portal/")
    expect_lang(page, language)
    matches = page.get_by_test_id("top-matches")
    expect(matches).to_contain_text(product_name)
    shoot(page, tmp_path, f"{shot}-1-dashboard")

    # 2. The product page gives the same verdict and the way to apply.
    page.goto(f"{prefix}/products/{product.pk}/")
    expect(page.get_by_test_id("verdict")).to_be_visible()
    page.get_by_test_id("apply-link").click()
    wait_for_path(page, f"{prefix}/portal/enterprise/apply/{product.pk}/")
    expect(page.get_by_test_id("consent-categories")).to_be_visible()
    page.fill("input[name=amount]", "800000")
    page.fill("input[name=term]", "12")
    page.fill("textarea[name=purpose]", "采购原材料")
    page.check("input[name=agree]")
    shoot(page, tmp_path, f"{shot}-2-apply")
    page.get_by_test_id("apply-submit").click()
    _on(page, rf"{prefix}/portal/enterprise/applications/XYD-\d{{4}}-\d{{6}}/")
    application = Application.objects.get()
    expect(page.get_by_test_id("reference")).to_have_text(application.reference)
    assert application.status == ApplicationStatus.SUBMITTED
    consent = CreditAuthorization.objects.get(purpose=ConsentPurpose.LOAN_REVIEW)
    assert (consent.grantee_id, sorted(consent.scope)) == (
        product.lender.organization_id,
        ["court", "tax"],
    )
    shoot(page, tmp_path, f"{shot}-3-submitted")

    # 3. The reviewer (TOTP) finds it in the queue, accepts, reviews, asks.
    sessions.switch(reviewer, secret=secret)
    page.goto(f"{prefix}/portal/bank/applications/")
    expect_lang(page, language)
    row = page.locator("tr", has_text=application.reference)
    expect(row).to_be_visible()
    shoot(page, tmp_path, f"{shot}-4-queue")
    row.get_by_role("link", name=application.reference).click()
    wait_for_path(page, f"{prefix}/portal/bank/applications/{application.reference}/")
    page.locator("form[data-action=accept] button[type=submit]").click()
    page.locator("form[data-action=start_review] button[type=submit]").click()
    action = page.get_by_test_id("action-request_info")
    action.locator("summary").click()
    action.locator("textarea[name=question]").fill(QUESTION[language])
    action.locator("button[type=submit]").click()
    expect(page.get_by_test_id("information-requests")).to_contain_text(
        QUESTION[language]
    )
    shoot(page, tmp_path, f"{shot}-5-info-requested")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.INFO_REQUESTED

    # 4. The SME sees the unread notification and answers with a file.
    sessions.switch(owner)
    page.goto(f"{prefix}/portal/")
    expect(page.get_by_test_id("inbox-unread")).to_be_visible()
    page.get_by_test_id("inbox-link").click()
    wait_for_path(page, f"{prefix}/portal/inbox/")
    shoot(page, tmp_path, f"{shot}-6-inbox")
    page.locator("main a[href*='/portal/inbox/']").first.click()
    wait_for_path(
        page, f"{prefix}/portal/enterprise/applications/{application.reference}/"
    )
    expect(page.get_by_test_id("open-question")).to_contain_text(QUESTION[language])
    form = page.locator("form[data-action=answer_info]")
    form.locator("textarea[name=answer]").fill(ANSWER[language])
    form.locator("input[type=file]").set_input_files(
        [{"name": "statements.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("questions")).to_contain_text(ANSWER[language])
    shoot(page, tmp_path, f"{shot}-7-answered")

    # 5. The reviewer reads the answer, opens the applicant's records, approves.
    sessions.switch(reviewer)
    page.goto(f"{prefix}/portal/bank/applications/{application.reference}/")
    expect(page.get_by_test_id("answer")).to_contain_text(ANSWER[language])
    page.get_by_test_id("profile-link").click()
    wait_for_path(
        page, f"{prefix}/portal/bank/applications/{application.reference}/profile/"
    )
    shoot(page, tmp_path, f"{shot}-8-profile")
    page.go_back()
    approve = page.get_by_test_id("action-approve")
    approve.locator("summary").click()
    approve.locator("input[name=amount]").fill("800000")
    approve.locator("input[name=rate]").fill("4.35")
    approve.locator("input[name=term]").fill("12")
    approve.locator("button[type=submit]").click()
    expect(page.get_by_test_id("decision")).to_be_visible()
    shoot(page, tmp_path, f"{shot}-9-approved-bank")
    application.refresh_from_db()
    assert (
        application.status,
        application.offered_amount,
        application.offered_rate,
        application.offered_term,
    ) == (ApplicationStatus.APPROVED, Decimal("800000.00"), Decimal("4.35"), 12)

    # 6. The SME sees the decision in its language.
    sessions.switch(owner)
    page.goto(f"{prefix}/portal/enterprise/applications/{application.reference}/")
    decision = page.get_by_test_id("decision")
    expect(decision).to_contain_text(
        _text("Approved", language, context="application status")
    )
    expect(page.get_by_test_id("offer")).to_contain_text("4.35")
    shoot(page, tmp_path, f"{shot}-10-decision")
    assert Notification.objects.filter(recipient=owner).count() >= 3
    console.assert_clean()
