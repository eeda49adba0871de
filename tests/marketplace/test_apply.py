"""The SME applies in the browser: the product's terms, the separate authorization to
its bank read and agreed on the page, one application per idempotency key, and on
every refusal a clear message and nothing created."""

from __future__ import annotations

import pytest

from accounts.models import Membership, Role
from borrowers.models import ConsentPurpose, CreditAuthorization
from marketplace.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Notification,
)
from scoring.selectors import latest_score
from tests.factories import UserFactory
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.factories.lenders import lender_with_staff, listed_product
from tests.factories.marketplace import applicant
from tests.factories.scoring import stored_score

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, int]:
    return (
        Application.objects.count(),
        CreditAuthorization.objects.count(),
        ApplicationEvent.objects.count(),
        Notification.objects.count(),
    )


@pytest.fixture
def product():
    lender, _admin, _reviewer = lender_with_staff()
    return listed_product(lender=lender, required_categories=["tax", "court"])


@pytest.fixture
def owner_client(client):
    enterprise, owner = applicant()
    client.force_login(owner)
    client.enterprise, client.owner = enterprise, owner
    return client


def _url(product, language: str = "en") -> str:
    prefix = "/en" if language == "en" else ""
    return f"{prefix}/portal/enterprise/apply/{product.pk}/"


def _form_data(page, **overrides) -> dict:
    """What the SME posts from the rendered page: its hidden fingerprint and key."""
    form = page.context["form"]
    data = {
        "amount": "500000",
        "term": "12",
        "purpose": "采购原材料",
        "agree": "on",
        "notice_sha256": form["notice_sha256"].value(),
        "idempotency_key": form["idempotency_key"].value(),
    }
    data.update(overrides)
    return data


def test_apply_page_shows_the_terms_and_the_separate_authorization(
    owner_client, product
):
    page = owner_client.get(_url(product))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="apply-form"' in html
    preview = page.context["preview"]
    assert preview["categories"] == ["court", "tax"]
    assert page.context["form"]["notice_sha256"].value() == preview["sha256"]
    assert preview["text"] in html
    assert "Tax; Court judgements and enforcement" in html
    assert "Review of one loan application" in html
    assert "CNY 100,000.00 – CNY 3,000,000.00" in html
    assert "6 to 36 months" in html
    assert "3.45% – 6.50%" in html
    assert "Within 5 working days" in html


def test_each_rendering_of_the_form_has_a_fresh_idempotency_key(owner_client, product):
    first = owner_client.get(_url(product)).context["form"]["idempotency_key"].value()
    second = owner_client.get(_url(product)).context["form"]["idempotency_key"].value()
    assert len(first) == 32
    assert first != second


def test_apply_page_in_chinese_shows_labels_not_codes(owner_client, product):
    page = owner_client.get(_url(product, "zh-hans"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "纳税、司法判决与执行" in html
    assert "单笔贷款申请审查" in html
    assert "loan_review" not in html


def test_apply_creates_the_application_under_a_new_consent_and_redirects(
    owner_client, product
):
    enterprise = owner_client.enterprise
    page = owner_client.get(_url(product))
    response = owner_client.post(_url(product), _form_data(page))

    application = Application.objects.get()
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"/en/portal/enterprise/applications/{application.reference}/"
    )
    assert application.enterprise == enterprise
    assert application.status == ApplicationStatus.SUBMITTED
    assert str(application.requested_amount) == "500000.00"
    assert application.requested_term == 12
    assert application.purpose == "采购原材料"
    authorization = application.authorization
    assert authorization.purpose == ConsentPurpose.LOAN_REVIEW
    assert authorization.scope == ["court", "tax"]
    assert authorization.grantee == product.lender.organization
    assert authorization.notice_sha256 == page.context["preview"]["sha256"]
    assert authorization.notice_language == "en"
    score = latest_score(enterprise_pk=enterprise.pk)
    assert application.score == score
    assert application.snapshot_grade == score.grade
    assert application.snapshot_score == score.score
    assert application.snapshot_pd == score.pd
    assert application.snapshot_model_version == score.model_version.version
    event = ApplicationEvent.objects.get()
    assert (event.action, event.to_status, event.actor) == (
        "submit",
        "submitted",
        owner_client.owner,
    )
    assert event.ip_address == "127.0.0.1"
    # Only the scoring consent and this one exist.
    assert CreditAuthorization.objects.count() == 2


def test_a_double_post_with_the_same_key_makes_one_application(owner_client, product):
    page = owner_client.get(_url(product))
    data = _form_data(page)
    first = owner_client.post(_url(product), data)
    second = owner_client.post(_url(product), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Application.objects.count() == 1
    assert ApplicationEvent.objects.count() == 1
    assert CreditAuthorization.objects.filter(purpose="loan_review").count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "amount",
            "50000",
            "This product lends between CNY 100,000.00 and CNY 3,000,000.00.",
        ),
        (
            "amount",
            "3000000.01",
            "This product lends between CNY 100,000.00 and CNY 3,000,000.00.",
        ),
        ("term", "5", "This product lends for 6 to 36 months."),
        ("term", "37", "This product lends for 6 to 36 months."),
        ("purpose", "   ", "This field is required."),
    ],
)
def test_terms_outside_the_product_are_field_errors_and_nothing_is_created(
    owner_client, product, field, value, message
):
    page = owner_client.get(_url(product))
    before = _counts()
    response = owner_client.post(_url(product), _form_data(page, **{field: value}))
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert _counts() == before
    # The page is shown again, with a new key and the notice to agree to.
    assert response.context["preview"] is not None
    assert (
        response.context["form"]["idempotency_key"].value()
        != page.context["form"]["idempotency_key"].value()
    )


def test_not_ticking_the_agreement_is_a_field_error(owner_client, product):
    page = owner_client.get(_url(product))
    before = _counts()
    data = _form_data(page)
    del data["agree"]
    response = owner_client.post(_url(product), data)
    assert response.status_code == 400
    assert response.context["form"].errors["agree"] == [
        "Tick the box to confirm you have read the authorization."
    ]
    assert _counts() == before


def test_a_changed_notice_shows_the_new_text_to_agree_again(owner_client, product):
    page = owner_client.get(_url(product))
    before = _counts()
    response = owner_client.post(
        _url(product), _form_data(page, notice_sha256="0" * 64)
    )
    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [
        "The text of the authorization changed since you read it. Read the new text "
        "and agree to it again."
    ]
    form = response.context["form"]
    assert form["notice_sha256"].value() == response.context["preview"]["sha256"]
    assert form["agree"].value() is False
    assert _counts() == before


def test_without_a_scoring_consent_the_page_says_what_to_do_next(client, product):
    _enterprise, owner = enterprise_with_owner()
    client.force_login(owner)
    page = client.get(_url(product))
    assert page.status_code == 200
    assert page.context["form"] is None
    assert [blocker["code"] for blocker in page.context["blockers"]] == [
        "scoring_consent_required"
    ]
    assert 'href="/en/portal/enterprise/consents/new/"' in page.content.decode()

    before = _counts()
    response = client.post(
        _url(product),
        {
            "amount": "500000",
            "term": "12",
            "purpose": "采购原材料",
            "agree": "on",
            "notice_sha256": "0" * 64,
            "idempotency_key": "k-1",
        },
    )
    assert response.status_code == 409
    alert = response.context["alert"]
    assert alert["code"] == "scoring_consent_required"
    assert alert["url"] == "/en/portal/enterprise/consents/new/"
    assert alert["message"].startswith(
        "Authorize the platform to score your enterprise"
    )
    assert _counts() == before


def test_without_a_score_the_page_says_what_to_do_next(client, product):
    # A scoring consent, but no score and no features to score on the spot.
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, purpose=ConsentPurpose.SCORING)
    client.force_login(owner)
    page = client.get(_url(product))
    assert page.status_code == 200
    assert page.context["form"] is None
    assert [blocker["code"] for blocker in page.context["blockers"]] == [
        "score_required"
    ]

    before = _counts()
    response = client.post(
        _url(product),
        {
            "amount": "500000",
            "term": "12",
            "purpose": "采购原材料",
            "agree": "on",
            "notice_sha256": "0" * 64,
            "idempotency_key": "k-1",
        },
    )
    assert response.status_code == 409
    assert response.context["alert"]["code"] == "score_required"
    assert response.context["alert"]["url"] == "/en/portal/enterprise/score/"
    assert _counts() == before


def test_a_second_application_while_the_first_is_active_is_refused(
    owner_client, product
):
    page = owner_client.get(_url(product))
    owner_client.post(_url(product), _form_data(page))
    first = Application.objects.get()

    # The page now points at the application in progress instead of a form.
    again = owner_client.get(_url(product))
    assert again.context["form"] is None
    assert again.context["existing"] == first

    before = _counts()
    # A form rendered before the first was sent, with its own key.
    response = owner_client.post(
        _url(product),
        _form_data(page, idempotency_key="another-key"),
    )
    assert response.status_code == 409
    assert response.context["alert"]["message"] == (
        "You already have an application for this product in progress."
    )
    assert response.context["existing"] == first
    assert (
        f'href="/en/portal/enterprise/applications/{first.reference}/"'
        in response.content.decode()
    )
    assert _counts() == before


def test_a_member_who_is_not_an_owner_cannot_apply(client, product):
    enterprise, _owner = applicant()
    member = UserFactory()
    Membership.objects.create(
        user=member, organization=enterprise.organization, role=Role.MEMBER
    )
    client.force_login(member)
    page = client.get(_url(product))
    assert page.status_code == 403
    assert page.context["message"] == (
        f"Only an owner of {enterprise.name} may apply for a loan and authorize a "
        "bank to read its data. Ask an owner to apply."
    )
    before = _counts()
    response = client.post(
        _url(product),
        {
            "amount": "500000",
            "term": "12",
            "purpose": "采购原材料",
            "agree": "on",
            "notice_sha256": "0" * 64,
            "idempotency_key": "k-1",
        },
    )
    assert response.status_code == 403
    assert _counts() == before


def test_a_user_without_an_enterprise_gets_a_clear_page(client, product):
    client.force_login(UserFactory())
    page = client.get(_url(product))
    assert page.status_code == 403
    assert page.context["message"] == "Register your enterprise before applying."
    assert 'href="/en/portal/enterprise/register/"' in page.content.decode()


def test_only_listed_products_can_be_applied_for(owner_client):
    lender, _admin, _reviewer = lender_with_staff()
    from tests.factories.lenders import LoanProductFactory

    draft = LoanProductFactory(lender=lender)
    assert owner_client.get(_url(draft)).status_code == 404
    assert owner_client.post(_url(draft), {}).status_code == 404
    assert _counts() == (0, 1, 0, 0)


def test_the_product_page_links_to_the_apply_page(client, product):
    page = client.get(f"/en/products/{product.pk}/")
    assert f'href="/en/portal/enterprise/apply/{product.pk}/"' in page.content.decode()


def test_the_bank_staff_are_notified_of_the_new_application(owner_client, product):
    page = owner_client.get(_url(product))
    owner_client.post(_url(product), _form_data(page))
    staff = set(
        Membership.objects.filter(organization=product.lender.organization).values_list(
            "user_id", flat=True
        )
    )
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == staff


def test_the_rescored_enterprise_keeps_the_snapshot_it_applied_with(
    owner_client, product
):
    page = owner_client.get(_url(product))
    owner_client.post(_url(product), _form_data(page))
    application = Application.objects.get()
    frozen = (application.snapshot_grade, application.snapshot_score)
    stored_score(owner_client.enterprise, grade="D", score=480.0)
    application.refresh_from_db()
    assert (application.snapshot_grade, application.snapshot_score) == frozen
    detail = owner_client.get(
        f"/en/portal/enterprise/applications/{application.reference}/"
    )
    assert detail.status_code == 200
    assert f'data-grade="{frozen[0]}"' in detail.content.decode()
