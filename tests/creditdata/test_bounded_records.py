"""The records list pages in the database: a count and one 50-row slice a page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from accounts.selectors import platform_organization
from borrowers.models import DataAccessLog
from creditdata.models import RegistrationRecord, TaxRecord
from tests.factories import MembershipFactory, activate_totp
from tests.factories.borrowers import enterprise_with_owner, grant

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<td class="small text-muted">sz · (t\d+)</td>')


def _add_tax_records(enterprise, start: int, count: int) -> None:
    # Two records a month, so the order needs its tie-breaker to page stably.
    TaxRecord.objects.bulk_create(
        TaxRecord(
            enterprise=enterprise,
            source="sz",
            source_id=f"t{i}",
            period=dt.date(2000 + i // 24, (i // 2) % 12 + 1, 1),
            tax_paid="100.00",
            arrears="0.00",
        )
        for i in range(start, start + count)
    )


def _url(name, *args):
    with translation.override("en"):
        return reverse(name, args=args)


@pytest.fixture
def owner_client(client):
    enterprise, owner = enterprise_with_owner()
    client.force_login(owner)
    client.enterprise = enterprise
    return client


def _page(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    html = response.content.decode()
    return response.context["page"], ROW.findall(html), html


def test_120_records_in_pages_of_50_then_20(owner_client):
    _add_tax_records(owner_client.enterprise, 0, 120)
    url = _url("creditdata:my_data_category", "tax")
    first, first_rows, html = _page(owner_client, url)
    assert (first.number, first.paginator.num_pages, len(first_rows)) == (1, 3, 50)
    assert "Records 1–50 of 120" in html
    assert "Page 1 of 3" in html and "page=2" in html
    _second, second_rows, _html = _page(owner_client, url, page=2)
    third, third_rows, html = _page(owner_client, url, page=3)
    assert (third.number, len(third_rows)) == (3, 20)
    assert "Records 101–120 of 120" in html
    # Every record on exactly one page, in the records' order (month, then id).
    assert len(set(first_rows + second_rows + third_rows)) == 120
    expected = list(
        TaxRecord.objects.filter(enterprise=owner_client.enterprise)
        .order_by("period", "pk")
        .values_list("source_id", flat=True)
    )
    assert first_rows + second_rows + third_rows == expected


@pytest.mark.parametrize(
    ("page", "number"),
    [
        ("abc", 1),  # not a number: the first page
        ("", 1),
        ("1.5", 1),
        ("4", 3),  # past the end: the last page
        ("999", 3),
        ("0", 3),  # less than 1: the last page too, as Paginator.get_page does
        ("-2", 3),
    ],
)
def test_bad_page_input_is_answered_as_get_page_does(owner_client, page, number):
    _add_tax_records(owner_client.enterprise, 0, 120)
    shown, rows, _html = _page(
        owner_client, _url("creditdata:my_data_category", "tax"), page=page
    )
    assert shown.number == number
    assert len(rows) == (20 if number == 3 else 50)


def test_no_records_is_one_empty_page(owner_client):
    page, rows, html = _page(owner_client, _url("creditdata:my_data_category", "tax"))
    assert (page.number, rows) == (1, [])
    assert "No records." in html
    assert 'data-testid="records-range"' not in html


def _queries(client, url, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    record_reads = [q["sql"] for q in queries if "creditdata_taxrecord" in q["sql"]]
    # The count, then the page's slice.
    assert len(record_reads) == 2
    assert "COUNT(" in record_reads[0]
    assert "LIMIT 50" in record_reads[1]
    return len(queries)


def test_the_sme_page_runs_as_many_queries_for_60_as_for_300_records(owner_client):
    url = _url("creditdata:my_data_category", "tax")
    owner_client.get(url)  # the session's first request also stores its row
    _add_tax_records(owner_client.enterprise, 0, 60)
    at_60 = _queries(owner_client, url)
    _add_tax_records(owner_client.enterprise, 60, 240)
    at_300 = _queries(owner_client, url)
    assert at_60 == at_300
    assert _queries(owner_client, url, page=6) == at_300


def test_the_operator_page_runs_as_many_queries_for_60_as_for_300_records(client):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, categories=["tax"])
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    url = _url("creditdata:operator_records", enterprise.pk, "tax")
    client.get(url)
    _add_tax_records(enterprise, 0, 60)
    at_60 = _queries(client, url)
    _add_tax_records(enterprise, 60, 240)
    at_300 = _queries(client, url)
    assert at_60 == at_300
    page, rows, _html = _page(client, url, page=3)
    assert (page.number, len(rows)) == (3, 50)
    # Still one access-log row per read, whatever the page.
    assert DataAccessLog.objects.filter(enterprise=enterprise).count() == 4


def test_choice_codes_are_shown_as_their_labels(owner_client):
    RegistrationRecord.objects.create(
        enterprise=owner_client.enterprise,
        source="sz",
        source_id="r1",
        name="深圳市样例科技有限公司",
        legal_representative="李四",
        registered_capital="1000000.00",
        founded_on=dt.date(2018, 5, 1),
        industry="I",
        district="440305",
        status="active",
    )
    html = owner_client.get(
        _url("creditdata:my_data_category", "registration")
    ).content.decode()
    assert "<td>Nanshan</td>" in html
    assert "<td>Information transmission, software and IT services</td>" in html
    assert "<td>440305</td>" not in html and "<td>I</td>" not in html
