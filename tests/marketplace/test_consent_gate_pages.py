"""The bank's view of the applicant's records and documents, under the application's
consent only.

A profile view reads each category the consent covers and writes one access-log row
for each (purpose ``loan_review``, the bank's organization, the request's id). When
the consent is not in force — revoked by the SME, ended by a withdrawal or a decision
— or the category is outside it, the page and the documents answer 404 and nothing
is written to the access log. Another bank gets 404 on all of it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from borrowers.models import AccessChannel, ConsentPurpose, DataAccessLog
from borrowers.services import authorization_revoke
from creditdata.models import CourtRecord, TaxRecord
from marketplace import services
from marketplace.models import ApplicationStatus
from marketplace.services import UploadedDocument
from tests.factories import activate_totp
from tests.factories.lenders import listed_product
from tests.factories.marketplace import (
    application_in,
    bank_actor,
    sme_actor,
    staff,
    submitted_application,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
REQUEST_ID = "req-h3-profile-0001"


def _sign_in(client, application, role="reviewer"):
    user = staff(application, role)
    activate_totp(user)
    client.force_login(user)
    return user


def _records(enterprise):
    """Two tax months (one with a coded grade), a court case, and a customs-free
    enterprise: the product's consent covers tax and court only."""
    TaxRecord.objects.create(
        enterprise=enterprise,
        source="sz-credit",
        source_id="tax-1",
        period=dt.date(2026, 1, 1),
        tax_paid=Decimal("123456.70"),
        arrears=Decimal("0.00"),
        credit_grade="A",
    )
    TaxRecord.objects.create(
        enterprise=enterprise,
        source="sz-credit",
        source_id="tax-2",
        period=dt.date(2026, 2, 1),
        tax_paid=Decimal("98000.00"),
        arrears=Decimal("1500.00"),
        credit_grade=None,
    )
    CourtRecord.objects.create(
        enterprise=enterprise,
        source="sz-court",
        source_id="court-1",
        record_type="judgement",
        case_number="(2025)粤0305民初1234号",
        court="深圳市南山区人民法院",
        filed_on=dt.date(2025, 3, 1),
        amount=Decimal("50000.00"),
        dishonest_debtor=False,
    )


def _with_document():
    """An application under review whose SME answered a question with a PDF."""
    application = application_in("info_requested")
    application = services.application_answer_info(
        application=application,
        actor=sme_actor(application),
        answer="流水已上传。",
        files=[UploadedDocument(filename="流水.pdf", content=PDF)],
    )
    document = application.information_requests.get().documents.get()
    return application, document


def _profile(application, suffix=""):
    return f"/en/portal/bank/applications/{application.reference}/profile/{suffix}"


def _document_url(application, document):
    return (
        f"/en/portal/bank/applications/{application.reference}/documents/{document.pk}/"
    )


def test_profile_shows_the_records_of_the_consented_categories_with_labels(client):
    application = application_in("under_review")
    _records(application.enterprise)
    _sign_in(client, application)

    response = client.get(_profile(application))

    assert response.status_code == 200
    sections = response.context["sections"]
    assert [section["category"].value for section in sections] == ["tax", "court"]
    html = response.content.decode()
    assert "Grade A" in html  # the tax credit grade's label, not its code
    assert "CNY 123,456.70" in html
    assert "Court judgement" in html and ">judgement<" not in html
    assert "(2025)粤0305民初1234号" in html
    assert "Customs import and export" not in html
    assert 'data-category="customs"' not in html


def test_profile_view_logs_one_row_per_category_in_scope(client):
    application = application_in("under_review")
    _records(application.enterprise)
    officer = _sign_in(client, application)

    response = client.get(_profile(application), HTTP_X_REQUEST_ID=REQUEST_ID)

    assert response.status_code == 200
    rows = DataAccessLog.objects.order_by("category")
    assert [
        (
            row.category,
            row.purpose,
            row.organization_id,
            row.actor_id,
            row.channel,
            row.request_id,
            row.enterprise_id,
        )
        for row in rows
    ] == [
        (
            category,
            ConsentPurpose.LOAN_REVIEW,
            application.lender.organization_id,
            officer.pk,
            AccessChannel.WEB,
            REQUEST_ID,
            application.enterprise_id,
        )
        for category in ("court", "tax")
    ]
    assert set(rows.values_list("authorization_id", flat=True)) == {
        application.authorization_id
    }


def test_profile_view_logs_this_applications_consent_not_a_newer_one(client):
    """Two live applications of one SME to one bank: reading for the first logs the
    first one's consent, although the second's is newer and covers the same data."""
    first = application_in("under_review")
    second = submitted_application(
        enterprise=first.enterprise,
        owner=first.submitted_by,
        product=listed_product(
            lender=first.lender, required_categories=["tax", "court"]
        ),
    )
    assert second.authorization.granted_at >= first.authorization.granted_at
    _records(first.enterprise)
    _sign_in(client, first)

    assert client.get(_profile(first)).status_code == 200

    assert set(DataAccessLog.objects.values_list("authorization_id", flat=True)) == {
        first.authorization_id
    }


def test_profile_of_one_category_in_scope_logs_that_category_only(client):
    application = application_in("accepted")
    _records(application.enterprise)
    _sign_in(client, application)

    response = client.get(_profile(application, "?category=tax"))

    assert response.status_code == 200
    assert [s["category"].value for s in response.context["sections"]] == ["tax"]
    assert response.context["sections"][0]["page"].paginator.count == 2
    assert list(DataAccessLog.objects.values_list("category", flat=True)) == ["tax"]


@pytest.mark.parametrize("category", ["customs", "registration", "nonsense", ""])
def test_a_category_outside_the_consent_is_404_and_logs_nothing(client, category):
    application = application_in("under_review")
    _records(application.enterprise)
    _sign_in(client, application)

    response = client.get(_profile(application, f"?category={category}"))

    assert response.status_code == 404
    assert DataAccessLog.objects.count() == 0


def test_revoking_the_consent_closes_the_profile_and_documents(client):
    application, document = _with_document()
    _records(application.enterprise)
    _sign_in(client, application)
    assert client.get(_document_url(application, document)).status_code == 200
    logged = DataAccessLog.objects.count()

    authorization_revoke(
        authorization=application.authorization,
        revoked_by=application.submitted_by,
        reason="不再申请",
    )

    assert client.get(_profile(application)).status_code == 404
    assert client.get(_profile(application, "?category=tax")).status_code == 404
    assert client.get(_document_url(application, document)).status_code == 404
    assert DataAccessLog.objects.count() == logged
    page = client.get(f"/en/portal/bank/applications/{application.reference}/")
    assert page.status_code == 200
    assert page.context["consent"] is None
    html = page.content.decode()
    assert 'data-testid="profile-link"' not in html
    assert _document_url(application, document) not in html
    assert "流水.pdf" in html


@pytest.mark.parametrize("ending", ["withdraw", "reject"])
def test_withdrawing_or_rejecting_ends_the_banks_access(client, ending):
    application, document = _with_document()
    _records(application.enterprise)
    _sign_in(client, application)
    assert client.get(_profile(application)).status_code == 200
    logged = DataAccessLog.objects.count()
    assert logged == 2

    if ending == "withdraw":
        services.application_withdraw(
            application=application, actor=sme_actor(application)
        )
    else:
        services.application_reject(
            application=application,
            actor=bank_actor(application),
            reasons=["credit_grade"],
            note="信用等级不足。",
        )

    assert client.get(_profile(application)).status_code == 404
    assert client.get(_document_url(application, document)).status_code == 404
    assert DataAccessLog.objects.count() == logged


def test_profile_after_approval_is_404_and_logs_nothing(client):
    application = application_in("under_review")
    _records(application.enterprise)
    application = services.application_approve(
        application=application,
        actor=bank_actor(application),
        amount="500000",
        rate="4.20",
        term=12,
    )
    _sign_in(client, application, "admin")

    assert client.get(_profile(application)).status_code == 404
    assert DataAccessLog.objects.count() == 0


def test_document_is_an_attachment_that_is_never_sniffed(client):
    application, document = _with_document()
    _sign_in(client, application)

    response = client.get(_document_url(application, document))

    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert document.filename == "流水.pdf"
    assert "filename*=utf-8''%E6%B5%81%E6%B0%B4.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_document_of_another_application_is_404(client):
    application, document = _with_document()
    other = submitted_application(product=application.product)
    _sign_in(client, other)

    response = client.get(_document_url(other, document))

    assert response.status_code == 404


def test_second_bank_gets_404_on_profile_document_page_and_actions(client):
    application, document = _with_document()
    _records(application.enterprise)
    other = submitted_application()  # another bank, with its own staff
    assert other.lender_id != application.lender_id
    _sign_in(client, other, "admin")
    base = f"/en/portal/bank/applications/{application.reference}/"
    version = application.version

    assert client.get(base).status_code == 404
    assert client.get(_profile(application)).status_code == 404
    assert client.get(_profile(application, "?category=tax")).status_code == 404
    assert client.get(_document_url(application, document)).status_code == 404
    for action, data in [
        ("accept", {}),
        ("start_review", {}),
        ("approve", {"amount": "500000", "rate": "4.2", "term": "12"}),
        ("reject", {"reasons": ["other"], "note": "x"}),
        ("request_info", {"question": "?"}),
    ]:
        response = client.post(
            f"{base}{action}/", {**data, "expected_version": version}
        )
        assert response.status_code == 404, action
    queue = client.get("/en/portal/bank/applications/")
    assert [row["application"].pk for row in queue.context["rows"]] == [other.pk]

    application.refresh_from_db()
    assert (application.status, application.version) == (
        ApplicationStatus.UNDER_REVIEW,
        version,
    )
    assert DataAccessLog.objects.count() == 0


def test_someone_not_on_a_banks_staff_gets_404(client):
    application = application_in("under_review")
    client.force_login(application.submitted_by)  # the SME's owner

    for url in (
        "/en/portal/bank/applications/",
        f"/en/portal/bank/applications/{application.reference}/",
        _profile(application),
    ):
        assert client.get(url).status_code == 404, url
    assert DataAccessLog.objects.count() == 0


def test_bank_staff_without_a_second_factor_are_sent_to_set_it_up(client):
    application = application_in("under_review")
    _records(application.enterprise)
    client.force_login(staff(application, "reviewer"))  # no TOTP

    response = client.get(_profile(application))

    assert response.status_code == 302
    assert "/totp/activate/" in response["Location"]
    assert DataAccessLog.objects.count() == 0
