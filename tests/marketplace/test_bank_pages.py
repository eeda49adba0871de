"""The bank's review pages: the queue (deadline order, filters, pagination, the
portal tab's count), an application with the actions the transition table gives the
officer, and every action through the page — with each refusal changing nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from lenders.models import Branch
from marketplace import bank_views, services, transitions
from marketplace.models import (
    Application,
    ApplicationStatus,
    InformationRequest,
)
from tests.factories import activate_totp
from tests.factories.lenders import lender_with_staff, listed_product
from tests.factories.marketplace import (
    applicant,
    application_in,
    bank_actor,
    sme_actor,
    staff,
    submitted_application,
)

pytestmark = pytest.mark.django_db

S = ApplicationStatus
QUEUE = "/en/portal/bank/applications/"
REASONS = [
    {
        "factor": "tax",
        "feature": "tax_arrears_months_12",
        "contribution": 0.42,
        "factor_zh": "纳税",
        "factor_en": "Tax",
        "text_zh": "近12个月有3个月欠税。",
        "text_en": "Tax arrears in 3 of the last 12 months.",
    }
]


def _sign_in(client, application, role="reviewer"):
    user = staff(application, role)
    activate_totp(user)
    client.force_login(user)
    return user


def _url(application, suffix=""):
    return f"/en/portal/bank/applications/{application.reference}/{suffix}"


def _state(application) -> tuple:
    """Everything an action may change, to assert that a refused one did not."""
    application.refresh_from_db()
    return (
        application.status,
        application.version,
        application.events.count(),
        application.offered_amount,
        application.offered_rate,
        application.offered_term,
        application.disbursed_amount,
        application.repaid_on,
        list(application.rejection_reasons),
        InformationRequest.objects.filter(application=application).count(),
    )


def _move(application, *actions, **payloads):
    for action in actions:
        application = services.application_act(
            application=application,
            action=action,
            actor=bank_actor(application, "admin"),
            **payloads.get(action, {}),
        )
    return application


def _approved(amount="500000"):
    application = application_in("under_review")
    return _move(
        application,
        "approve",
        approve={"amount": amount, "rate": "4.20", "term": 12},
    )


def _forms(response) -> list[str]:
    return [form.transition.action for form in response.context["action_forms"]]


# --- the queue -------------------------------------------------------------------------


@pytest.fixture
def queue():
    """One bank, two products, four applications: overdue, due tomorrow, due in five
    days, and an approved one (no deadline)."""
    lender, _admin, _reviewer = lender_with_staff()
    product_a = listed_product(lender=lender, required_categories=["tax"])
    product_b = listed_product(lender=lender, required_categories=["tax"])
    Branch.objects.create(
        lender=lender, name="南山支行", districts=["440305", "440304"]
    )
    now = timezone.now()

    def make(product, district, amount, due):
        enterprise, owner = applicant(district=district)
        application = submitted_application(
            product=product, enterprise=enterprise, owner=owner, amount=amount
        )
        Application.objects.filter(pk=application.pk).update(due_at=due)
        return application

    late = make(product_a, "440305", "500000", now - dt.timedelta(days=2))
    soon = make(product_b, "440304", "800000", now + dt.timedelta(days=1))
    later = make(product_a, "440304", "1200000", now + dt.timedelta(days=5))
    done = make(product_b, "440305", "300000", now + dt.timedelta(days=3))
    done = _move(
        done,
        "accept",
        "start_review",
        "approve",
        approve={"amount": "300000", "rate": "4.00", "term": 12},
    )
    assert done.due_at is None
    return {
        "lender": lender,
        "products": (product_a, product_b),
        "late": late,
        "soon": soon,
        "later": later,
        "done": done,
    }


def _references(response) -> list[str]:
    return [row["application"].reference for row in response.context["rows"]]


def test_queue_lists_overdue_first_then_the_nearest_deadline(client, queue):
    _sign_in(client, queue["late"])

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert _references(response) == [
        queue[name].reference for name in ("late", "soon", "later", "done")
    ]
    hints = [
        row["deadline"]["text"] if row["deadline"] else None
        for row in response.context["rows"]
    ]
    assert hints == ["Overdue by 2 days", "1 day left", "5 days left", None]
    html = response.content.decode()
    assert "Overdue by 2 days" in html
    assert [row["next_actor"] for row in response.context["rows"]] == ["The bank"] * 4
    assert [row["district"] for row in response.context["rows"]] == [
        "Nanshan",
        "Futian",
        "Futian",
        "Nanshan",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "approved"}, ["done"]),
        ({"status": "submitted"}, ["late", "soon", "later"]),
        ({"product": "A"}, ["late", "later"]),
        ({"product": "B"}, ["soon", "done"]),
        ({"district": "440304"}, ["soon", "later"]),
        ({"district": "440305"}, ["late", "done"]),
        ({"amount_min": "500000"}, ["late", "soon", "later"]),
        ({"amount_max": "800000"}, ["late", "soon", "done"]),
        ({"amount_min": "600000", "amount_max": "1000000"}, ["soon"]),
        ({"status": "submitted", "district": "440305"}, ["late"]),
    ],
)
def test_queue_filters(client, queue, query, expected):
    _sign_in(client, queue["late"])
    products = dict(zip("AB", queue["products"], strict=True))
    if "product" in query:
        query = {**query, "product": products[query["product"]].pk}

    response = client.get(QUEUE, query)

    assert response.status_code == 200
    assert response.context["form"].errors == {}
    assert _references(response) == [queue[name].reference for name in expected]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": "draft"}, "status"),
        ({"product": "abc"}, "product"),
        ({"product": "OTHER"}, "product"),
        ({"district": "440306"}, "district"),
        ({"amount_min": "abc"}, "amount_min"),
        ({"amount_max": "-5"}, "amount_max"),
        ({"amount_min": "900000", "amount_max": "100000"}, "amount_max"),
    ],
)
def test_queue_bad_filter_is_a_field_error_and_an_empty_list(
    client, queue, query, field
):
    _sign_in(client, queue["late"])
    if query.get("product") == "OTHER":
        query = {"product": listed_product().pk}  # another bank's product

    response = client.get(QUEUE, query)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert _references(response) == []
    html = response.content.decode()
    assert 'data-testid="filter-errors"' in html
    assert "No application matches these filters." in html


def test_queue_district_choices_are_the_branches_districts_by_label(client, queue):
    _sign_in(client, queue["late"])

    response = client.get(QUEUE)

    assert response.context["form"].fields["district"].choices == [
        ("", "All"),
        ("440304", "Futian"),
        ("440305", "Nanshan"),
    ]


def test_queue_is_paginated_and_keeps_its_filters(client, queue, monkeypatch):
    monkeypatch.setattr(bank_views, "QUEUE_PAGE_SIZE", 2)
    _sign_in(client, queue["late"])

    first = client.get(QUEUE, {"amount_min": "100000"})
    second = client.get(QUEUE, {"amount_min": "100000", "page": "2"})
    beyond = client.get(QUEUE, {"amount_min": "100000", "page": "x"})

    assert _references(first) == [queue["late"].reference, queue["soon"].reference]
    assert _references(second) == [queue["later"].reference, queue["done"].reference]
    assert _references(beyond) == _references(first)
    assert "?amount_min=100000&amp;page=2" in first.content.decode()


def test_queue_tab_counts_the_applications_waiting_on_the_bank(client, queue):
    _sign_in(client, queue["late"])

    page = client.get(QUEUE)
    fragment = client.get(f"{QUEUE}waiting-count/")
    products = client.get("/en/portal/bank/products/")

    assert page.context["bank_waiting_count"] == 3
    assert 'data-testid="waiting-count" data-count="3"' in page.content.decode()
    assert fragment.status_code == 200
    assert 'data-count="3"' in fragment.content.decode()
    assert f'hx-get="{QUEUE}waiting-count/"' in products.content.decode()


def test_waiting_count_is_empty_for_someone_not_on_a_banks_staff(client):
    application = application_in("submitted")
    client.force_login(application.submitted_by)

    assert client.get(f"{QUEUE}waiting-count/").status_code == 204


# --- one application -------------------------------------------------------------------


def test_application_page_in_english_shows_facts_score_and_labels(client):
    application = application_in("under_review")
    Application.objects.filter(pk=application.pk).update(snapshot_reasons=REASONS)
    _sign_in(client, application)

    response = client.get(_url(application))

    assert response.status_code == 200
    html = response.content.decode()
    enterprise = application.enterprise
    for text in (
        application.reference,
        enterprise.name,
        enterprise.uscc,
        enterprise.legal_representative,
        "2018-05-01",
        "Information transmission, software and IT services",
        "Nanshan",
        "CNY 1,000,000.00",  # registered capital
        "CNY 500,000.00",  # amount requested
        "12 months",
        "采购原材料",
        "Under review",
        "Tax arrears in 3 of the last 12 months.",
        "4.00%",  # the frozen PD
        application.snapshot_model_version,
        "Bank reviewer",
    ):
        assert text in html, text
    assert "近12个月有3个月欠税。" not in html
    assert "440305" not in html
    assert response.context["timeline"][0]["action"] == "submit"
    assert 'data-testid="history"' in html


def test_application_page_in_chinese_shows_the_chinese_reasons_and_labels(client):
    application = application_in("under_review")
    Application.objects.filter(pk=application.pk).update(snapshot_reasons=REASONS)
    _sign_in(client, application)

    response = client.get(f"/portal/bank/applications/{application.reference}/")

    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "近12个月有3个月欠税。",
        "信息传输、软件和信息技术服务业",
        "南山区",
        "法定代表人",
        "1,000,000.00元",
    ):
        assert text in html, text
    assert "Tax arrears in 3 of the last 12 months." not in html
    assert "440305" not in html


def test_actions_drawn_are_the_tables_for_the_state_and_role(client):
    application = application_in("under_review")
    reviewer = _sign_in(client, application)

    response = client.get(_url(application))

    roles = services.application_roles(user=reviewer, application=application)
    assert _forms(response) == [
        t.action
        for t in transitions.allowed_transitions(application.status, roles)
        if t.action in transitions.BANK_ACTIONS
    ]
    assert _forms(response) == ["request_info", "approve", "counter_offer", "reject"]
    html = response.content.decode()
    for action in _forms(response):
        assert f'action="{_url(application, action + "/")}"' in html


def test_offer_form_starts_from_the_request_and_the_page_version(client):
    application = application_in("under_review")
    _sign_in(client, application)

    response = client.get(_url(application))

    form = next(
        form
        for form in response.context["action_forms"]
        if form.transition.action == "approve"
    )
    assert form["amount"].value() == Decimal("500000.00")
    assert form["term"].value() == 12
    assert form["rate"].value() == application.product.rate_min
    assert form["expected_version"].value() == application.version
    html = response.content.decode()
    assert f'name="expected_version" value="{application.version}"' in html
    assert "Product range: CNY 100,000.00 – CNY 3,000,000.00" in html


def test_reviewer_sees_outcomes_reserved_to_administrators(client):
    application = _approved()
    _sign_in(client, application, "reviewer")

    response = client.get(_url(application))

    assert _forms(response) == []
    reserved = response.context["reserved_actions"]
    assert [item["transition"].action for item in reserved] == ["disburse"]
    assert [str(role) for role in reserved[0]["roles"]] == ["Bank administrator"]
    assert "Report the disbursement — Bank administrator" in response.content.decode()


def test_administrator_sees_the_disbursement_form(client):
    application = _approved()
    _sign_in(client, application, "admin")

    response = client.get(_url(application))

    assert _forms(response) == ["disburse"]
    assert response.context["reserved_actions"] == []


def test_accept_start_review_and_request_information_through_the_page(client):
    application = application_in("submitted")
    officer = _sign_in(client, application)

    accepted = client.post(
        _url(application, "accept/"),
        {"expected_version": 1, "note": "已受理"},
        REMOTE_ADDR="198.51.100.4",
    )
    application.refresh_from_db()
    assert accepted.status_code == 302
    assert accepted["Location"] == _url(application)
    assert application.status == S.ACCEPTED
    event = application.events.order_by("-version").first()
    assert (event.action, event.actor_id, event.ip_address, event.note) == (
        "accept",
        officer.pk,
        "198.51.100.4",
        "已受理",
    )
    assert event.organization_id == application.lender.organization_id

    client.post(_url(application, "start_review/"), {"expected_version": 2})
    asked = client.post(
        _url(application, "request_info/"),
        {"expected_version": 3, "question": "请提供近三个月的银行流水。"},
        follow=True,
    )
    application.refresh_from_db()
    assert application.status == S.INFO_REQUESTED
    assert application.information_requests.get().question == (
        "请提供近三个月的银行流水。"
    )
    assert "Request information — done." in asked.content.decode()


def test_request_information_without_a_question_changes_nothing(client):
    application = application_in("under_review")
    _sign_in(client, application)
    before = _state(application)

    response = client.post(
        _url(application, "request_info/"),
        {"expected_version": application.version, "question": "  "},
    )

    assert response.status_code == 400
    bound = next(
        f
        for f in response.context["action_forms"]
        if f.transition.action == "request_info"
    )
    assert bound.errors["question"] == ["This field is required."]
    assert _state(application) == before


def test_approve_within_the_range_records_the_offer(client):
    application = application_in("under_review")
    _sign_in(client, application)

    response = client.post(
        _url(application, "approve/"),
        {
            "expected_version": application.version,
            "amount": "450000",
            "rate": "4.35",
            "term": "18",
        },
    )

    application.refresh_from_db()
    assert response.status_code == 302
    assert (
        application.status,
        application.offered_amount,
        application.offered_rate,
        application.offered_term,
    ) == (S.APPROVED, Decimal("450000.00"), Decimal("4.35"), 18)


def test_approve_outside_the_products_range_is_a_field_error(client):
    application = application_in("under_review")
    _sign_in(client, application)
    before = _state(application)

    response = client.post(
        _url(application, "approve/"),
        {
            "expected_version": application.version,
            "amount": "5000000",
            "rate": "30",
            "term": "12",
        },
    )

    assert response.status_code == 400
    form = next(
        f for f in response.context["action_forms"] if f.transition.action == "approve"
    )
    assert set(form.errors) == {"amount", "rate"}
    assert form.errors["amount"] == [
        "Outside this product's range (CNY 100,000.00 to 3,000,000.00)."
    ]
    assert _state(application) == before


def test_counter_offer_through_the_page(client):
    application = application_in("under_review")
    _sign_in(client, application)

    response = client.post(
        _url(application, "counter_offer/"),
        {
            "expected_version": application.version,
            "amount": "300000",
            "rate": "5.00",
            "term": "12",
            "note": "额度调整为30万元。",
        },
    )

    application.refresh_from_db()
    assert response.status_code == 302
    assert (application.status, application.offered_amount) == (
        S.COUNTER_OFFERED,
        Decimal("300000.00"),
    )


def test_reject_without_a_reason_is_refused(client):
    application = application_in("under_review")
    _sign_in(client, application)
    before = _state(application)

    response = client.post(
        _url(application, "reject/"),
        {"expected_version": application.version, "note": "不符合条件。"},
    )

    assert response.status_code == 400
    form = next(
        f for f in response.context["action_forms"] if f.transition.action == "reject"
    )
    assert form.errors["reasons"] == ["Choose at least one reason."]
    assert _state(application) == before


def test_reject_without_a_note_is_refused(client):
    application = application_in("under_review")
    _sign_in(client, application)
    before = _state(application)

    response = client.post(
        _url(application, "reject/"),
        {"expected_version": application.version, "reasons": ["credit_grade"]},
    )

    assert response.status_code == 400
    form = next(
        f for f in response.context["action_forms"] if f.transition.action == "reject"
    )
    assert form.errors["note"] == ["Explain the decision to the applicant in a note."]
    assert _state(application) == before


def test_reject_with_reasons_shows_their_labels(client):
    application = application_in("under_review")
    _sign_in(client, application)

    response = client.post(
        _url(application, "reject/"),
        {
            "expected_version": application.version,
            "reasons": ["penalties", "credit_grade"],
            "note": "信用等级不足。",
        },
        follow=True,
    )

    application.refresh_from_db()
    assert (application.status, application.rejection_reasons) == (
        S.REJECTED,
        ["credit_grade", "penalties"],
    )
    assert response.context["rejection_reasons"] == [
        "Credit grade below the product's requirement",
        "Unrepaired administrative penalties",
    ]
    assert _forms(response) == []


def test_reviewer_cannot_disburse_and_the_admin_can(client):
    application = _approved()
    today = timezone.localdate().isoformat()
    data = {
        "expected_version": application.version,
        "amount": "500000",
        "disbursed_on": today,
    }
    _sign_in(client, application, "reviewer")
    before = _state(application)

    refused = client.post(_url(application, "disburse/"), data)

    assert refused.status_code == 403
    assert "You may not “Report the disbursement” on this application." in (
        refused.content.decode()
    )
    assert _state(application) == before

    _sign_in(client, application, "admin")
    done = client.post(_url(application, "disburse/"), data)

    application.refresh_from_db()
    assert done.status_code == 302
    assert (
        application.status,
        application.disbursed_amount,
        application.disbursed_on,
    ) == (S.DISBURSED, Decimal("500000.00"), timezone.localdate())


def test_disbursing_more_than_approved_is_a_field_error(client):
    application = _approved()
    _sign_in(client, application, "admin")
    before = _state(application)

    response = client.post(
        _url(application, "disburse/"),
        {
            "expected_version": application.version,
            "amount": "500000.01",
            "disbursed_on": timezone.localdate().isoformat(),
        },
    )

    assert response.status_code == 400
    form = next(
        f for f in response.context["action_forms"] if f.transition.action == "disburse"
    )
    assert form.errors["amount"] == ["More than the CNY 500,000.00 approved."]
    assert _state(application) == before


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("report_repaid", {"repaid_on": "2026-01-15"}),
        ("report_overdue", {"days_past_due": "30"}),
    ],
)
def test_an_outcome_for_an_undisbursed_loan_is_refused(client, action, data):
    application = _approved()
    _sign_in(client, application, "admin")
    before = _state(application)

    response = client.post(
        _url(application, f"{action}/"),
        {"expected_version": application.version, **data},
    )

    assert response.status_code == 409
    label = transitions.TRANSITIONS[action].label
    assert (
        f"“{label}” is not possible for an application that is “Approved”."
        in response.content.decode()
    )
    assert _state(application) == before


def test_outcomes_after_disbursement_through_the_page(client):
    application = _approved()
    application = _move(
        application,
        "disburse",
        disburse={"amount": "500000", "disbursed_on": timezone.localdate()},
    )
    _sign_in(client, application, "admin")

    overdue = client.post(
        _url(application, "report_overdue/"),
        {"expected_version": application.version, "days_past_due": "45"},
    )
    application.refresh_from_db()
    assert overdue.status_code == 302
    assert (application.status, application.days_past_due) == (S.OVERDUE, 45)

    repaid = client.post(
        _url(application, "report_repaid/"),
        {
            "expected_version": application.version,
            "repaid_on": timezone.localdate().isoformat(),
        },
    )
    application.refresh_from_db()
    assert repaid.status_code == 302
    assert (application.status, application.repaid_on) == (
        S.REPAID,
        timezone.localdate(),
    )


def test_a_stale_page_is_refused_and_keeps_the_officers_input(client):
    application = application_in("under_review")
    seen = application.version
    _sign_in(client, application)
    # Meanwhile a colleague asks for information and the SME answers: the state is
    # "under review" again, two versions later.
    application = _move(
        application, "request_info", request_info={"question": "请补充流水。"}
    )
    application = services.application_answer_info(
        application=application, actor=sme_actor(application), answer="已补充。"
    )
    before = _state(application)

    response = client.post(
        _url(application, "approve/"),
        {"expected_version": seen, "amount": "420000", "rate": "4.10", "term": "12"},
    )

    assert response.status_code == 409
    assert (
        f"The application changed since you loaded it (version {seen}, now "
        f"{seen + 2}); reload it and try again."
    ) in response.content.decode()
    assert _state(application) == before
    form = next(
        f for f in response.context["action_forms"] if f.transition.action == "approve"
    )
    assert not form.is_bound
    assert form["amount"].value() == Decimal("420000")
    assert form["expected_version"].value() == seen + 2


@pytest.mark.parametrize("action", ["withdraw", "accept_offer", "escalate", "bogus"])
def test_an_action_that_is_not_the_banks_is_404(client, action):
    application = application_in("under_review")
    _sign_in(client, application, "admin")
    before = _state(application)

    response = client.post(
        _url(application, f"{action}/"), {"expected_version": application.version}
    )

    assert response.status_code == 404
    assert _state(application) == before


def test_actions_take_post_only(client):
    application = application_in("submitted")
    _sign_in(client, application)

    assert client.get(_url(application, "accept/")).status_code == 405
    assert _state(application)[0] == S.SUBMITTED


def test_queue_and_application_render_in_chinese(client, queue):
    _sign_in(client, queue["late"])

    listing = client.get("/portal/bank/applications/")
    page = client.get(f"/portal/bank/applications/{queue['soon'].reference}/")

    assert listing.status_code == page.status_code == 200
    assert "福田区" in listing.content.decode()
    assert "500,000.00元" in listing.content.decode()
    assert "福田区" in page.content.decode()
    assert ">440304<" not in listing.content.decode()


@pytest.mark.parametrize(
    ("due", "text", "overdue"),
    [
        ("2026-03-10 09:00", "Overdue by 1 day", True),  # earlier today
        ("2026-03-09 18:00", "Overdue by 1 day", True),
        ("2026-03-07 23:59", "Overdue by 3 days", True),
        ("2026-03-10 18:00", "Due today", False),
        ("2026-03-11 00:30", "1 day left", False),
        ("2026-03-15 09:00", "5 days left", False),
    ],
)
def test_deadline_hint_counts_calendar_days_in_shanghai(due, text, overdue):
    from django.utils import translation

    shanghai = timezone.get_current_timezone()
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=shanghai)
    due_at = dt.datetime.fromisoformat(due).replace(tzinfo=shanghai)

    with translation.override("en"):
        hint = bank_views.deadline_hint(due_at, now=now)

    assert (hint["text"], hint["overdue"]) == (text, overdue)


def test_deadline_hint_without_a_deadline_is_none():
    assert bank_views.deadline_hint(None, now=timezone.now()) is None
