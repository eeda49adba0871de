"""A listed product's terms change only through the platform's review.

Editing a listed product's reviewed terms makes a pending ``LoanProductRevision``;
the live row, the public pages and the API keep the listed terms until an operator
approves it (a new version) or returns it with a note the bank sees. The exempt
presentation fields (``lifecycle.REVIEW_EXEMPT_FIELDS``) apply at once.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.selectors import platform_organization
from lenders import lifecycle, services
from lenders.apikeys import api_key_create
from lenders.exceptions import InvalidProduct, NotPermitted, TransitionNotAllowed
from lenders.models import (
    LoanProduct,
    LoanProductRevision,
    LoanProductVersion,
    ProductStatus,
    ProductTransition,
    RevisionStatus,
    WebhookDelivery,
)
from tests.factories import MembershipFactory, activate_totp
from tests.factories.lenders import lender_with_staff

pytestmark = pytest.mark.django_db

TERMS = {
    "code": "kc-1",
    "name": "科创信用贷",
    "description": "面向科技型中小企业。",
    "product_type": "credit",
    "guarantee_type": "none",
    "amount_min": Decimal("100000"),
    "amount_max": Decimal("3000000"),
    "term_min": 3,
    "term_max": 36,
    "rate_min": Decimal("3.45"),
    "rate_max": Decimal("6.50"),
    "repayment_method": "equal_instalment",
    "response_days": 3,
    "pure_credit": True,
}


@pytest.fixture
def operator():
    user = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(user)
    return user


@pytest.fixture
def bank():
    lender, admin, reviewer = lender_with_staff()
    activate_totp(admin)
    return lender, admin, reviewer


@pytest.fixture
def listed(bank, operator) -> LoanProduct:
    """A product listed the real way: created, submitted, approved (version 1)."""
    lender, admin, _reviewer = bank
    product = services.product_create(
        lender=lender,
        actor=admin,
        data=TERMS,
        regions=["440305"],
        industries=["I"],
    )
    services.product_transition(product=product, action="submit", actor=admin)
    return services.product_transition(
        product=product, action="approve", actor=operator
    )


def propose_rate(product: LoanProduct, admin, rate: str = "7.25"):
    return services.product_update(
        product=product, actor=admin, data={"rate_max": Decimal(rate)}
    )


def state(product: LoanProduct) -> tuple:
    """Everything a refused decision or edit must leave as it was."""
    product.refresh_from_db()
    return (
        product.rate_max,
        product.term_max,
        product.description,
        product.current_version,
        sorted(product.districts.values_list("district", flat=True)),
        LoanProductVersion.objects.filter(product=product).count(),
        ProductTransition.objects.filter(product=product).count(),
        list(
            LoanProductRevision.objects.filter(product=product)
            .order_by("pk")
            .values_list("status", "edits", "operator_note")
        ),
    )


def rates_on_page(page: str) -> list[str]:
    return re.findall(r'data-testid="rate">([^<]*)<', page)


def bank_api(lender, admin) -> APIClient:
    _key, raw = api_key_create(
        lender=lender,
        name="core banking",
        scopes=["products:read", "products:write"],
        created_by=admin,
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en")
    return client


# --- proposing ------------------------------------------------------------------------


def test_editing_a_listed_products_rate_makes_a_pending_revision_not_a_live_change(
    client, bank, listed
):
    lender, admin, _reviewer = bank

    change = propose_rate(listed, admin)

    revision = change.revision
    assert (revision.status, revision.base_version, revision.edits) == (
        RevisionStatus.PENDING,
        1,
        1,
    )
    assert revision.proposed["rate_max"] == "7.25"
    assert revision.proposed["regions"] == ["440305"]
    assert revision.proposed_by == admin
    listed.refresh_from_db()
    assert (listed.rate_max, listed.current_version) == (Decimal("6.50"), 1)
    assert LoanProductVersion.objects.filter(product=listed).count() == 1
    # The public pages and the bank API keep showing the listed rate.
    detail = client.get(f"/en/products/{listed.pk}/").content.decode()
    assert rates_on_page(detail) == ["3.45%–6.50%"]
    assert rates_on_page(client.get("/en/products/").content.decode()) == [
        "3.45%–6.50%"
    ]
    row = bank_api(lender, admin).get("/api/v1/products/kc-1/").json()
    assert row["rate_max"] == "6.50"
    assert row["latest_revision"]["status"] == "pending"
    assert row["latest_revision"]["changes"] == [
        {"field": "rate_max", "listed": "6.50", "proposed": "7.25"}
    ]


def test_a_second_edit_updates_the_pending_revision_with_both_changes(bank, listed):
    _lender, admin, _reviewer = bank
    first = propose_rate(listed, admin).revision

    second = services.product_update(
        product=listed, actor=admin, data={"term_max": 48}, regions=["440304"]
    ).revision

    assert second.pk == first.pk
    assert LoanProductRevision.objects.filter(product=listed).count() == 1
    assert (second.edits, second.proposed["rate_max"], second.proposed["term_max"]) == (
        2,
        "7.25",
        48,
    )
    assert second.proposed["regions"] == ["440304"]
    listed.refresh_from_db()
    assert (listed.rate_max, listed.term_max) == (Decimal("6.50"), 36)
    assert list(listed.districts.values_list("district", flat=True)) == ["440305"]


def test_editing_the_terms_back_to_the_listed_ones_withdraws_the_revision(bank, listed):
    _lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin).revision

    change = propose_rate(listed, admin, "6.50")

    assert change.revision is None
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.WITHDRAWN
    assert (
        LoanProductRevision.objects.filter(status=RevisionStatus.PENDING).count() == 0
    )


def test_a_cosmetic_edit_applies_at_once_as_a_new_version(client, bank, listed):
    _lender, admin, _reviewer = bank

    change = services.product_update(
        product=listed,
        actor=admin,
        data={
            "description": "新的介绍。",
            "name_en": "Tech Credit Loan",
            "description_en": "For tech SMEs.",
        },
    )

    assert change.revision is None
    assert LoanProductRevision.objects.count() == 0
    listed.refresh_from_db()
    assert (listed.description, listed.name_en, listed.current_version) == (
        "新的介绍。",
        "Tech Credit Loan",
        2,
    )
    version = LoanProductVersion.objects.get(product=listed, version=2)
    assert (version.terms["description"], version.terms["rate_max"]) == (
        "新的介绍。",
        "6.50",
    )
    page = client.get(f"/en/products/{listed.pk}/").content.decode()
    assert '<h1 class="h3" data-testid="product-name">Tech Credit Loan</h1>' in page


def test_an_edit_of_both_kinds_applies_the_cosmetic_part_and_proposes_the_rest(
    bank, listed
):
    _lender, admin, _reviewer = bank

    change = services.product_update(
        product=listed,
        actor=admin,
        data={"description": "新的介绍。", "rate_max": Decimal("7.25")},
    )

    listed.refresh_from_db()
    assert (listed.description, listed.rate_max) == ("新的介绍。", Decimal("6.50"))
    assert change.revision.proposed["rate_max"] == "7.25"
    assert change.revision.proposed["description"] == "新的介绍。"


def test_the_exempt_fields_are_one_written_down_list():
    assert sorted(lifecycle.REVIEW_EXEMPT_FIELDS) == [
        "description",
        "description_en",
        "name_en",
    ]
    assert "rate_max" in services.REVIEWED_TERMS
    assert "regions" in services.REVIEWED_TERMS
    assert not set(services.REVIEWED_TERMS) & lifecycle.REVIEW_EXEMPT_FIELDS
    assert "code" not in services.REVIEWED_TERMS


def test_an_invalid_proposal_is_a_field_error_and_changes_nothing(bank, listed):
    _lender, admin, _reviewer = bank
    before = state(listed)

    with pytest.raises(InvalidProduct) as raised:
        services.product_update(
            product=listed, actor=admin, data={"rate_min": Decimal("7.00")}
        )

    assert list(raised.value.errors) == ["rate_max"]
    assert state(listed) == before


def test_a_draft_still_changes_at_once(bank):
    lender, admin, _reviewer = bank
    product = services.product_create(lender=lender, actor=admin, data=TERMS)

    change = propose_rate(product, admin)

    assert change.revision is None
    product.refresh_from_db()
    assert product.rate_max == Decimal("7.25")
    assert LoanProductRevision.objects.count() == 0


# --- deciding -------------------------------------------------------------------------


def test_operator_approves_the_change_it_goes_live_as_a_new_version(
    client, bank, listed, operator
):
    lender, admin, _reviewer = bank
    services.webhook_endpoint_save(
        lender=lender, url="https://bank.example/hook", rotate_secret=False, actor=admin
    )
    revision = propose_rate(listed, admin).revision
    client.force_login(operator)

    response = client.post(
        f"/portal/operator/products/revisions/{revision.pk}/approve/",
        {"edits": "1"},
    )

    assert response.status_code == 302
    listed.refresh_from_db()
    revision.refresh_from_db()
    assert (listed.rate_max, listed.current_version, listed.status) == (
        Decimal("7.25"),
        2,
        ProductStatus.LISTED,
    )
    assert (revision.status, revision.decided_by, revision.version.version) == (
        RevisionStatus.APPROVED,
        operator,
        2,
    )
    assert revision.version.terms["rate_max"] == "7.25"
    last = ProductTransition.objects.filter(product=listed).last()
    assert (last.action, last.from_status, last.to_status, last.actor) == (
        "approve_revision",
        ProductStatus.LISTED,
        ProductStatus.LISTED,
        operator,
    )
    delivery = WebhookDelivery.objects.get(event_type="product.approved")
    assert delivery.payload["data"] == {
        "product": "kc-1",
        "version": 2,
        "revision": revision.pk,
    }
    client.logout()
    detail = client.get(f"/en/products/{listed.pk}/").content.decode()
    assert rates_on_page(detail) == ["3.45%–7.25%"]


def test_operator_returns_the_change_the_listed_rate_stays_and_the_bank_sees_the_note(
    client, bank, listed, operator
):
    lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin).revision
    client.force_login(operator)

    # A return needs a note: without one nothing is decided.
    before = state(listed)
    client.post(
        f"/portal/operator/products/revisions/{revision.pk}/return/",
        {"edits": "1", "comment": "  "},
    )
    assert state(listed) == before

    client.post(
        f"/portal/operator/products/revisions/{revision.pk}/return/",
        {"edits": "1", "comment": "利率上调需说明理由"},
    )

    revision.refresh_from_db()
    listed.refresh_from_db()
    assert (revision.status, revision.operator_note) == (
        RevisionStatus.RETURNED,
        "利率上调需说明理由",
    )
    assert (listed.rate_max, listed.current_version) == (Decimal("6.50"), 1)
    client.force_login(admin)
    products_page = client.get("/en/portal/bank/products/").content.decode()
    assert (
        '<div class="small text-danger" data-testid="revision-returned">'
        "Change returned: 利率上调需说明理由</div>"
    ) in products_page
    form_page = client.get(f"/en/portal/bank/products/{listed.pk}/edit/")
    assert (
        "The platform returned your last change: 利率上调需说明理由"
        in form_page.content.decode()
    )
    assert "<li>Maximum annual rate (%): 6.50% → 7.25%</li>" in (
        form_page.content.decode()
    )
    api_row = bank_api(lender, admin).get("/api/v1/products/kc-1/").json()
    assert api_row["latest_revision"]["operator_note"] == "利率上调需说明理由"
    # The bank edits again: a new pending revision, the returned one kept.
    again = propose_rate(listed, admin, "7.00").revision
    assert again.pk != revision.pk
    assert list(
        LoanProductRevision.objects.filter(product=listed)
        .order_by("pk")
        .values_list("status", flat=True)
    ) == [RevisionStatus.RETURNED, RevisionStatus.PENDING]


@pytest.mark.parametrize("who", ["admin", "reviewer", "other_admin"])
def test_only_an_operator_may_decide_on_a_change(bank, listed, who):
    _lender, admin, reviewer = bank
    _other, other_admin, _ = lender_with_staff()
    revision = propose_rate(listed, admin).revision
    before = state(listed)
    actor = {"admin": admin, "reviewer": reviewer, "other_admin": other_admin}[who]

    with pytest.raises(NotPermitted):
        services.product_revision_decide(
            revision=revision, action="approve", actor=actor
        )

    assert state(listed) == before


def test_a_bank_admin_posting_the_operators_approve_url_gets_a_404(
    client, bank, listed
):
    _lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin).revision
    before = state(listed)
    client.force_login(admin)

    response = client.post(
        f"/portal/operator/products/revisions/{revision.pk}/approve/", {"edits": "1"}
    )

    assert response.status_code == 404
    assert state(listed) == before


def test_a_decision_on_a_proposal_changed_since_it_was_read_is_refused(
    bank, listed, operator
):
    _lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin).revision
    propose_rate(listed, admin, "8.00")  # edits is now 2
    before = state(listed)

    with translation.override("en"), pytest.raises(TransitionNotAllowed) as raised:
        services.product_revision_decide(
            revision=revision, action="approve", actor=operator, expected_edits=1
        )

    assert raised.value.message == (
        "The bank changed this proposal after you opened it; review it again."
    )
    assert state(listed) == before


def test_a_decided_change_cannot_be_decided_again(bank, listed, operator):
    _lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin).revision
    services.product_revision_decide(
        revision=revision, action="return", actor=operator, comment="不行"
    )
    before = state(listed)

    with pytest.raises(TransitionNotAllowed):
        services.product_revision_decide(
            revision=revision, action="approve", actor=operator
        )

    assert state(listed) == before


def test_approval_checks_the_terms_against_todays_rules(
    settings, bank, listed, operator
):
    _lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin, "20.00").revision
    settings.LOAN_RATE_CAP = Decimal("15.00")
    before = state(listed)

    with pytest.raises(InvalidProduct) as raised:
        services.product_revision_decide(
            revision=revision, action="approve", actor=operator
        )

    assert list(raised.value.errors) == ["rate_max"]
    assert state(listed) == before


def test_delisting_withdraws_the_pending_change(bank, listed):
    _lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin).revision

    services.product_transition(product=listed, action="delist", actor=admin)

    revision.refresh_from_db()
    assert revision.status == RevisionStatus.WITHDRAWN


# --- the bank's pages and API ---------------------------------------------------------


def test_the_bank_edits_a_listed_product_through_its_form_and_sees_it_pending(
    client, bank, listed
):
    _lender, admin, _reviewer = bank
    client.force_login(admin)
    form = client.get(f"/en/portal/bank/products/{listed.pk}/edit/").context["form"]
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name != "code"
    }
    data.update(
        rate_max="7.25",
        regions=["440305"],
        industries=["I"],
        pure_credit="on",
        excludes_dishonest_debtors="on",
        excludes_unrepaired_serious_penalty="on",
    )
    for name in ("fully_online", "fast_approval", "interest_subsidy"):
        data.pop(name, None)
    for name in ("risk_compensation", "government_guarantee", "required_categories"):
        data.pop(name, None)

    response = client.post(f"/en/portal/bank/products/{listed.pk}/edit/", data)

    assert response.status_code == 302
    revision = LoanProductRevision.objects.get(product=listed)
    assert [
        name
        for name in services.REVIEWED_TERMS
        if revision.proposed[name] != listed.terms()[name]
    ] == ["rate_max"]
    listed.refresh_from_db()
    assert listed.rate_max == Decimal("6.50")
    page = client.get("/en/portal/bank/products/").content.decode()
    assert (
        '<span class="badge text-bg-warning" data-testid="revision-pending">'
        "Change pending review</span>"
    ) in page
    # The form now shows the proposed rate, and says a change is pending.
    edit = client.get(f"/en/portal/bank/products/{listed.pk}/edit/")
    assert edit.context["form"].initial["rate_max"] == "7.25"
    assert "Change pending review (last edited" in edit.content.decode()


def test_the_api_answers_202_with_the_revision_and_keeps_the_listed_terms(bank, listed):
    lender, admin, _reviewer = bank
    api = bank_api(lender, admin)

    response = api.patch("/api/v1/products/kc-1/", {"rate_max": "7.25"}, format="json")

    assert response.status_code == 202, response.json()
    body = response.json()
    revision = LoanProductRevision.objects.get(product=listed)
    assert (body["id"], body["product"], body["status"], body["edits"]) == (
        revision.pk,
        "kc-1",
        "pending",
        1,
    )
    assert body["changes"] == [
        {"field": "rate_max", "listed": "6.50", "proposed": "7.25"}
    ]
    assert body["proposed"]["rate_max"] == "7.25"
    listed.refresh_from_db()
    assert listed.rate_max == Decimal("6.50")
    assert api.get("/api/v1/products/kc-1/").json()["rate_max"] == "6.50"


def test_a_cosmetic_api_edit_of_a_listed_product_is_a_200(bank, listed):
    lender, admin, _reviewer = bank
    api = bank_api(lender, admin)

    response = api.patch(
        "/api/v1/products/kc-1/",
        {"name_en": "Tech Credit Loan", "description_en": "For tech SMEs."},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["name_en"], response.json()["current_version"]) == (
        "Tech Credit Loan",
        2,
    )
    assert response.json()["latest_revision"] is None
    assert LoanProductRevision.objects.count() == 0


def test_an_invalid_api_edit_of_a_listed_product_changes_nothing(bank, listed):
    lender, admin, _reviewer = bank
    before = state(listed)

    response = bank_api(lender, admin).patch(
        "/api/v1/products/kc-1/",
        {"rate_max": "3.00", "description": "改了"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "rate_max": ["The maximum must not be below the minimum."]
    }
    assert state(listed) == before


# --- the operator's review card -------------------------------------------------------


def _card(page: str, testid: str, code: str) -> str:
    match = re.search(
        rf'<div class="card mb-3"[^>]*data-product="{code}" data-testid="{testid}">'
        r"(.*?)</div></div>",
        page,
        re.S,
    )
    assert match is not None, (testid, code)
    return html.unescape(match.group(1))


def _rows(fragment: str, testid: str) -> list[tuple[str, str]]:
    terms = re.search(rf'data-testid="{testid}">(.*?)</dl>', fragment, re.S).group(1)
    return [
        (label, value)
        for label, value in re.findall(
            r'<dt class="col-sm-4">(.*?)</dt><dd class="col-sm-8">(.*?)</dd>', terms
        )
    ]


FULL_TERMS = [
    ("Product type", "Credit loan"),
    ("Guarantee type", "No collateral (credit)"),
    ("Amount", "CNY 100,000–3,000,000"),
    ("Term", "3–36 months"),
    ("Annual rate", "3.45%–6.50%"),
    ("Repayment", "Equal instalments"),
    ("Districts", "Nanshan"),
    ("Industries", "Information transmission, software and IT services"),
    ("Minimum credit grade", "No minimum"),
    ("Years in business", "No minimum"),
    ("Minimum tax credit grade", "No minimum"),
    ("Dishonest judgement debtors", "Not eligible"),
    ("Unrepaired serious administrative penalty", "Not eligible"),
    ("Data the applicant must authorize", "None"),
    ("Tags", "Pure credit"),
    ("Policy support", "None"),
    ("Response", "Within 3 working days"),
    ("Description", "面向科技型中小企业。"),
]


def test_the_review_card_of_a_new_product_shows_its_full_terms(client, bank, operator):
    lender, admin, _reviewer = bank
    product = services.product_create(
        lender=lender, actor=admin, data=TERMS, regions=["440305"], industries=["I"]
    )
    services.product_transition(product=product, action="submit", actor=admin)
    client.force_login(operator)

    page = client.get("/en/portal/operator/products/review/").content.decode()

    assert _rows(_card(page, "review-card", "kc-1"), "review-terms") == FULL_TERMS


def test_the_review_card_of_a_change_shows_the_diff_and_the_full_terms(
    client, bank, listed, operator
):
    _lender, admin, _reviewer = bank
    services.product_update(
        product=listed,
        actor=admin,
        data={
            "rate_max": Decimal("7.25"),
            "term_max": 48,
            "fast_approval": True,
            "min_grade": "B",
            "required_categories": ["tax"],
        },
        regions=["440305", "440304"],
    )
    client.force_login(operator)

    page = client.get("/en/portal/operator/products/review/").content.decode()

    card = _card(page, "revision-card", "kc-1")
    diff = re.findall(
        r'<tr data-field="([a-z_]+)"><th scope="row">(.*?)</th><td>(.*?)</td>'
        r'<td aria-hidden="true">→</td><td><strong>(.*?)</strong></td></tr>',
        card,
    )
    assert diff == [
        ("term_max", "Maximum term (months)", "36 months", "48 months"),
        ("rate_max", "Maximum annual rate (%)", "6.50%", "7.25%"),
        ("regions", "Districts", "Nanshan", "Futian · Nanshan"),
        ("min_grade", "Minimum credit grade", "No minimum", "B"),
        ("required_categories", "Data the applicant must authorize", "None", "Tax"),
        ("fast_approval", "Fast approval", "No", "Yes"),
    ]
    rows = dict(_rows(card, "review-terms"))
    assert rows["Term"] == "3–48 months"
    assert rows["Annual rate"] == "3.45%–7.25%"
    assert rows["Districts"] == "Futian · Nanshan"
    assert rows["Tags"] == "Pure credit · Fast approval"
    assert "Changes listed version 1; proposed by" in card
    assert 'name="edits" value="1"' in card
    # In Chinese, the same card is in Chinese words, never the stored codes.
    chinese = client.get("/portal/operator/products/review/").content.decode()
    zh_card = _card(chinese, "revision-card", "kc-1")
    assert "fast_approval" not in re.sub(r'data-field="[a-z_]+"', "", zh_card)
    assert "440304" not in zh_card


def test_the_queue_lists_only_pending_changes_of_listed_products(
    client, bank, listed, operator
):
    _lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin).revision
    services.product_revision_decide(
        revision=revision, action="return", actor=operator, comment="不行"
    )
    client.force_login(operator)

    page = client.get("/en/portal/operator/products/review/").content.decode()

    assert 'data-testid="revision-card"' not in page
    assert "No changes waiting." in page


# --- the database keeps the rules -----------------------------------------------------


def test_at_most_one_pending_revision_per_product_is_a_database_constraint(
    bank, listed
):
    _lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin).revision

    with pytest.raises(IntegrityError), transaction.atomic():
        LoanProductRevision.objects.create(
            product=listed,
            base_version=1,
            proposed=revision.proposed,
            proposed_by=admin,
        )

    assert LoanProductRevision.objects.count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"status": RevisionStatus.RETURNED, "operator_note": ""},
        {"status": RevisionStatus.APPROVED},
        {"status": "maybe"},
    ],
)
def test_a_decision_must_be_recorded_in_full(bank, listed, operator, changes):
    _lender, admin, _reviewer = bank
    revision = propose_rate(listed, admin).revision
    decided = {"decided_by": operator, "decided_at": timezone.now()}

    with pytest.raises(IntegrityError), transaction.atomic():
        LoanProductRevision.objects.filter(pk=revision.pk).update(**decided, **changes)

    revision.refresh_from_db()
    assert revision.status == RevisionStatus.PENDING
