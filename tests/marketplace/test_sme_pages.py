"""The SME follows its applications: the list with whose turn it is and by when, the
page of one application (frozen score, consent, decision, the bank's questions, the
history, who read its records) and the actions the transition table allows it.
Every refused action changes nothing."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext, pgettext

from accounts.models import Membership, Role
from borrowers.models import AccessChannel, CreditAuthorization, DataAccessLog
from creditdata.selectors import records_read
from marketplace import selectors, services, transitions
from marketplace.models import (
    Application,
    ApplicationDocument,
    ApplicationEvent,
    ApplicationStatus,
    InformationRequest,
    Notification,
)
from tests.factories import UserFactory
from tests.factories.marketplace import application_in, bank_actor, staff

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _state(application: Application) -> tuple:
    """What a refused action must leave as it was."""
    application.refresh_from_db()
    return (
        application.status,
        application.version,
        ApplicationEvent.objects.count(),
        Notification.objects.count(),
        ApplicationDocument.objects.count(),
        list(InformationRequest.objects.values_list("answer", flat=True)),
        CreditAuthorization.objects.filter(revoked_at__isnull=False).count(),
    )


def _page(application: Application, language: str = "en", suffix: str = "") -> str:
    prefix = "/en" if language == "en" else ""
    return f"{prefix}/portal/enterprise/applications/{application.reference}/{suffix}"


def _signed_in(client, application: Application):
    client.force_login(application.submitted_by)
    return client


def _counter_offered() -> Application:
    application = application_in("under_review")
    return services.application_counter_offer(
        application=application,
        actor=bank_actor(application),
        amount="400000",
        rate="4.35",
        term=12,
        note="额度按近一年纳税额核定。",
    )


def _actions_shown(html: str) -> set[str]:
    return set(re.findall(r'<form [^>]*data-action="([a-z_]+)"', html))


# --- the list -------------------------------------------------------------------------


def test_my_applications_lists_them_with_the_next_actor_and_deadline(client):
    submitted = application_in("submitted")
    asked = application_in(
        "info_requested", enterprise=submitted.enterprise, owner=submitted.submitted_by
    )
    _signed_in(client, submitted)
    page = client.get("/en/portal/enterprise/applications/")
    assert page.status_code == 200
    rows = {row["application"].reference: row for row in page.context["rows"]}
    due = timezone.localtime(submitted.due_at).strftime("%Y-%m-%d")
    assert rows[submitted.reference]["next_step"] == {
        "actor": "bank",
        "text": f"With the bank, due {due}",
        "due_at": submitted.due_at,
    }
    assert rows[asked.reference]["next_step"] == {
        "actor": "sme",
        "text": "Your turn: answer the bank's question",
        "due_at": None,
    }
    html = page.content.decode()
    assert f"With the bank, due {due}" in html
    assert ">Submitted</span>" in html
    assert ">Information requested</span>" in html
    assert "CNY 500,000.00" in html
    assert submitted.product.display_name in html


def test_my_applications_in_chinese_shows_labels_not_codes(client):
    application = application_in("submitted")
    _signed_in(client, application)
    page = client.get("/portal/enterprise/applications/")
    html = page.content.decode()
    due = timezone.localtime(application.due_at).strftime("%Y-%m-%d")
    with translation.override("zh-hans"):
        status = pgettext("application status", "Submitted")
        next_text = gettext("With the bank, due %(date)s") % {"date": due}
    assert f">{status}</span>" in html
    assert next_text in html
    assert "500,000.00元" in html
    assert 'data-status="submitted"' in html
    assert ">submitted<" not in html


def test_the_list_shows_only_the_enterprises_own_applications(client):
    mine = application_in("submitted")
    other = application_in("submitted")
    _signed_in(client, mine)
    page = client.get("/en/portal/enterprise/applications/")
    references = [row["application"].reference for row in page.context["rows"]]
    assert references == [mine.reference]
    assert other.reference not in page.content.decode()


# --- one application ------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_application_page_shows_the_frozen_score_in_the_readers_language(
    client, language
):
    application = application_in("under_review")
    Application.objects.filter(pk=application.pk).update(
        snapshot_reasons=[
            {
                "text_zh": "有2项未修复的行政处罚",
                "text_en": "2 unrepaired administrative penalties",
                "factor_zh": "行政处罚",
                "factor_en": "Administrative penalties",
            }
        ]
    )
    _signed_in(client, application)
    page = client.get(_page(application, language))
    assert page.status_code == 200
    html = page.content.decode()
    if language == "en":
        assert "2 unrepaired administrative penalties" in html
        assert "有2项未修复的行政处罚" not in html
        assert ">Under review</span>" in html
    else:
        assert "有2项未修复的行政处罚" in html
        assert "2 unrepaired administrative penalties" not in html
        assert "纳税、司法判决与执行" in html
    assert f'data-grade="{application.snapshot_grade}"' in html
    assert (
        f'href="{"/en" if language == "en" else ""}/portal/enterprise/consents/'
        f'{application.authorization_id}/"' in html
    )


def test_another_enterprises_application_is_404_everywhere(client):
    mine = application_in("info_requested")
    theirs = application_in("info_requested")
    _signed_in(client, mine)
    before = _state(theirs)
    assert client.get(_page(theirs)).status_code == 404
    assert (
        client.post(_page(theirs, suffix="withdraw/"), {"confirm": "on"}).status_code
        == 404
    )
    assert (
        client.post(_page(theirs, suffix="answer_info/"), {"answer": "x"}).status_code
        == 404
    )
    assert _state(theirs) == before


def test_a_user_without_an_enterprise_gets_404(client):
    application = application_in("submitted")
    client.force_login(UserFactory())
    assert client.get(_page(application)).status_code == 404
    assert client.get("/en/portal/enterprise/applications/").status_code == 404


def test_buttons_are_the_transitions_the_table_allows_the_owner(client):
    application = application_in("info_requested")
    _signed_in(client, application)
    html = client.get(_page(application)).content.decode()
    expected = {
        t.action
        for t in transitions.allowed_transitions(
            application.status, frozenset({transitions.SME_OWNER})
        )
    }
    assert expected == {"answer_info", "withdraw"}
    assert _actions_shown(html) == expected
    assert "请提供近三个月的银行流水。" in html


def test_a_member_may_answer_but_not_withdraw(client):
    application = application_in("info_requested")
    member = UserFactory()
    Membership.objects.create(
        user=member, organization=application.enterprise.organization, role=Role.MEMBER
    )
    client.force_login(member)
    html = client.get(_page(application)).content.decode()
    assert _actions_shown(html) == {"answer_info"}
    before = _state(application)
    response = client.post(
        _page(application, suffix="withdraw/"),
        {"confirm": "on", "version": application.version},
    )
    assert response.status_code == 302
    assert _state(application) == before
    page = client.get(response["Location"])
    assert [str(m) for m in page.context["messages"]] == [
        "You may not “Withdraw the application” on this application."
    ]


def test_the_page_says_which_bank_read_which_records(client):
    application = application_in("under_review")
    reviewer = staff(application)
    records_read(
        enterprise=application.enterprise,
        category="tax",
        user=reviewer,
        organization=application.lender.organization,
        purpose="loan_review",
        channel=AccessChannel.WEB,
        request_id="req-1",
    )
    assert (
        DataAccessLog.objects.filter(authorization=application.authorization).count()
        == 1
    )
    _signed_in(client, application)
    html = client.get(_page(application)).content.decode()
    bank = application.lender.organization.display_name
    assert (
        f"{bank} viewed your Tax records for application {application.reference}."
        in html
    )


def test_the_history_shows_each_event_with_its_organization_and_label(client):
    application = application_in("info_requested")
    _signed_in(client, application)
    page = client.get(_page(application))
    timeline = page.context["timeline"]
    assert [entry["action"] for entry in timeline] == [
        "submit",
        "accept",
        "start_review",
        "request_info",
    ]
    assert [entry["label"] for entry in timeline] == [
        "Submit",
        "Accept the application",
        "Start the review",
        "Request information",
    ]
    assert (
        timeline[0]["organization"] == application.enterprise.organization.display_name
    )
    assert timeline[1]["organization"] == application.lender.organization.display_name
    html = page.content.decode()
    shanghai = timezone.localtime(timeline[0]["at"]).strftime("%Y-%m-%d %H:%M")
    assert shanghai in html


# --- answering the bank's question ----------------------------------------------------


def test_answering_with_a_pdf_resumes_the_review_and_the_file_is_the_enterprises(
    client,
):
    application = application_in("info_requested")
    _signed_in(client, application)
    response = client.post(
        _page(application, suffix="answer_info/"),
        {
            "answer": "流水已上传。",
            "version": application.version,
            "documents": [SimpleUploadedFile("流水.pdf", PDF, "application/pdf")],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == _page(application)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_REVIEW
    request = InformationRequest.objects.get()
    assert request.answer == "流水已上传。"
    document = ApplicationDocument.objects.get()
    assert (document.filename, document.content_type, document.size) == (
        "流水.pdf",
        "application/pdf",
        len(PDF),
    )
    download = client.get(_page(application, suffix=f"documents/{document.pk}/"))
    assert download.status_code == 200
    assert download.content == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")

    # A member of the enterprise may download it; anyone else gets 404.
    member = UserFactory()
    Membership.objects.create(
        user=member, organization=application.enterprise.organization, role=Role.MEMBER
    )
    client.force_login(member)
    assert (
        client.get(_page(application, suffix=f"documents/{document.pk}/")).status_code
        == 200
    )
    stranger = application_in("submitted")
    client.force_login(stranger.submitted_by)
    assert (
        client.get(_page(application, suffix=f"documents/{document.pk}/")).status_code
        == 404
    )


def test_answering_with_a_file_of_the_wrong_type_changes_nothing(client):
    application = application_in("info_requested")
    _signed_in(client, application)
    before = _state(application)
    response = client.post(
        _page(application, suffix="answer_info/"),
        {
            "answer": "见附件。",
            "version": application.version,
            # Named .pdf, but an executable's bytes: the type is read from the content.
            "documents": [
                SimpleUploadedFile(
                    "statement.pdf", b"MZ\x90\x00binary", "application/pdf"
                )
            ],
        },
    )
    assert response.status_code == 400
    answer = next(a for a in response.context["actions"] if a["answer"])
    assert answer["form"].errors["documents"] == [
        "statement.pdf is not a PDF, JPEG or PNG file."
    ]
    assert _state(application) == before


def test_answering_with_a_file_over_10_mb_changes_nothing(client):
    application = application_in("info_requested")
    _signed_in(client, application)
    before = _state(application)
    big = PDF + b"0" * (services.DOCUMENT_MAX_BYTES + 1 - len(PDF))
    response = client.post(
        _page(application, suffix="answer_info/"),
        {
            "answer": "见附件。",
            "documents": [SimpleUploadedFile("big.pdf", big, "application/pdf")],
        },
    )
    assert response.status_code == 400
    answer = next(a for a in response.context["actions"] if a["answer"])
    assert answer["form"].errors["documents"] == ["big.pdf is larger than 10 MB."]
    assert _state(application) == before


def test_answering_without_text_changes_nothing(client):
    application = application_in("info_requested")
    _signed_in(client, application)
    before = _state(application)
    response = client.post(_page(application, suffix="answer_info/"), {"answer": ""})
    assert response.status_code == 400
    answer = next(a for a in response.context["actions"] if a["answer"])
    assert answer["form"].errors["answer"] == ["This field is required."]
    assert _state(application) == before


# --- withdrawing ---------------------------------------------------------------------


def test_withdrawing_needs_the_confirmation(client):
    application = application_in("accepted")
    _signed_in(client, application)
    before = _state(application)
    response = client.post(
        _page(application, suffix="withdraw/"), {"version": application.version}
    )
    assert response.status_code == 400
    withdraw = next(a for a in response.context["actions"] if a["confirm"])
    assert withdraw["form"].errors["confirm"] == ["Tick the box to confirm."]
    assert _state(application) == before


def test_withdrawing_closes_the_application_and_ends_the_banks_consent(client):
    application = application_in("accepted")
    _signed_in(client, application)
    response = client.post(
        _page(application, suffix="withdraw/"),
        {
            "confirm": "on",
            "note": "已从其他渠道获得融资。",
            "version": application.version,
        },
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    event = application.events.order_by("-version").first()
    assert (event.action, event.note, event.ip_address) == (
        "withdraw",
        "已从其他渠道获得融资。",
        "127.0.0.1",
    )
    assert selectors.review_consent(application=application) is None
    page = client.get(response["Location"])
    assert _actions_shown(page.content.decode()) == set()
    assert page.context["next_step"]["text"] == "Closed"


def test_withdrawing_after_the_decision_is_refused_and_changes_nothing(client):
    application = application_in("under_review")
    application = services.application_approve(
        application=application,
        actor=bank_actor(application),
        amount="500000",
        rate="4.00",
        term=12,
    )
    _signed_in(client, application)
    before = _state(application)
    response = client.post(
        _page(application, suffix="withdraw/"),
        {"confirm": "on", "version": application.version},
    )
    assert response.status_code == 302
    assert _state(application) == before
    page = client.get(response["Location"])
    assert [str(m) for m in page.context["messages"]] == [
        "“Withdraw the application” is not possible for an application that is "
        "“Approved”."
    ]


def test_a_page_out_of_date_is_refused_and_changes_nothing(client):
    application = application_in("accepted")
    seen = application.version
    application = services.application_act(
        application=application, action="start_review", actor=bank_actor(application)
    )
    _signed_in(client, application)
    before = _state(application)
    response = client.post(
        _page(application, suffix="withdraw/"), {"confirm": "on", "version": seen}
    )
    assert response.status_code == 302
    assert _state(application) == before
    page = client.get(response["Location"])
    assert [str(m) for m in page.context["messages"]] == [
        f"The application changed since you loaded it (version {seen}, now "
        f"{seen + 1}); reload it and try again."
    ]


def test_an_action_that_is_not_the_smes_is_404(client):
    application = application_in("under_review")
    _signed_in(client, application)
    before = _state(application)
    assert client.post(_page(application, suffix="approve/"), {}).status_code == 404
    assert client.post(_page(application, suffix="nonsense/"), {}).status_code == 404
    assert _state(application) == before


# --- the counter-offer ----------------------------------------------------------------


def test_the_counter_offer_is_shown_with_accept_and_decline(client):
    application = _counter_offered()
    _signed_in(client, application)
    page = client.get(_page(application))
    html = page.content.decode()
    assert _actions_shown(html) == {"accept_offer", "decline_offer"}
    assert "CNY 400,000.00" in html
    assert "4.35%" in html
    assert "额度按近一年纳税额核定。" in html
    assert page.context["next_step"]["text"] == (
        "Your turn: accept or decline the counter-offer"
    )


def test_accepting_the_counter_offer_approves_it(client):
    application = _counter_offered()
    _signed_in(client, application)
    response = client.post(
        _page(application, suffix="accept_offer/"), {"version": application.version}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.offered_amount == Decimal("400000.00")
    assert application.events.order_by("-version").first().action == "accept_offer"


def test_declining_the_counter_offer_needs_the_confirmation_then_closes_it(client):
    application = _counter_offered()
    _signed_in(client, application)
    before = _state(application)
    refused = client.post(
        _page(application, suffix="decline_offer/"), {"version": application.version}
    )
    assert refused.status_code == 400
    assert _state(application) == before
    response = client.post(
        _page(application, suffix="decline_offer/"),
        {"confirm": "on", "version": application.version},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DECLINED


# --- the decision ---------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_rejection_shows_its_reasons_as_labels_in_the_readers_language(
    client, language
):
    application = application_in("under_review")
    services.application_reject(
        application=application,
        actor=bank_actor(application),
        reasons=["penalties", "credit_grade"],
        note="请先完成信用修复。",
    )
    _signed_in(client, application)
    page = client.get(_page(application, language))
    html = page.content.decode()
    with translation.override(language):
        expected = [
            gettext("Credit grade below the product's requirement"),
            gettext("Unrepaired administrative penalties"),
        ]
    assert [str(label) for label in page.context["rejection_reasons"]] == expected
    for label in expected:
        assert f"<li>{escape(label)}</li>" in html
    assert "credit_grade" not in html
    assert "请先完成信用修复。" in html


# --- the dashboard --------------------------------------------------------------------


def test_the_dashboard_summary_counts_applications_and_the_next_deadline(client):
    submitted = application_in("submitted")
    application_in(
        "info_requested", enterprise=submitted.enterprise, owner=submitted.submitted_by
    )
    _signed_in(client, submitted)
    dashboard = client.get("/en/portal/enterprise/")
    assert (
        'hx-get="/en/portal/enterprise/applications/summary/"'
        in dashboard.content.decode()
    )
    fragment = client.get("/en/portal/enterprise/applications/summary/")
    assert fragment.status_code == 200
    assert fragment.context["summary"] == {
        "in_progress": 2,
        "your_turn": 1,
        "next_due": submitted.due_at,
    }
    html = fragment.content.decode()
    assert "2 applications in progress." in html
    assert "1 waits for you." in html
    due = timezone.localtime(submitted.due_at).strftime("%Y-%m-%d")
    assert f"Next bank deadline: {due}." in html


def test_the_dashboard_summary_is_empty_for_a_user_without_an_enterprise(client):
    client.force_login(UserFactory())
    assert client.get("/en/portal/enterprise/applications/summary/").status_code == 204
    client.logout()
    assert client.get("/en/portal/enterprise/applications/summary/").status_code == 204


def test_the_enterprise_tabs_link_to_the_applications(client):
    application = application_in("submitted")
    _signed_in(client, application)
    html = client.get("/en/portal/enterprise/consents/").content.decode()
    assert 'href="/en/portal/enterprise/applications/">Applications</a>' in html
