"""The operator's organization list: 50 a page, filtered by kind, counts in one query."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import Organization, OrganizationKind, Role
from accounts.selectors import platform_organization
from tests.factories import MembershipFactory, activate_totp

pytestmark = pytest.mark.django_db

ROW = re.compile(
    r"<tr><td>([^<]*)</td><td>([^<]*)</td><td class=\"text-end\">(\d+)</td></tr>"
)


def _url(language="en"):
    with translation.override(language):
        return reverse("accounts:portal_operator")


@pytest.fixture
def operator_client(client):
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    client.get(_url())  # the session's first request also stores its row
    return client


def _add(kind, start, count, prefix):
    Organization.objects.bulk_create(
        Organization(kind=kind, name=f"{prefix} {i:04d}")
        for i in range(start, start + count)
    )


@pytest.fixture
def smes_and_banks():
    _add(OrganizationKind.ENTERPRISE, 0, 130, "SME")
    _add(OrganizationKind.LENDER, 0, 3, "Bank")
    # Members of a bank and an SME, to see their counts on the list.
    bank = Organization.objects.get(name="Bank 0001")
    MembershipFactory(organization=bank, role=Role.ADMIN)
    MembershipFactory(organization=bank, role=Role.REVIEWER)
    MembershipFactory(organization=Organization.objects.get(name="SME 0000"))


def _get(client, url=None, **params):
    response = client.get(url or _url(), params)
    assert response.status_code == 200
    html = response.content.decode()
    return response, ROW.findall(html), html


def test_the_list_shows_50_a_page_with_exact_counts(operator_client, smes_and_banks):
    response, rows, html = _get(operator_client)
    # 130 SMEs + 3 banks + the platform, in (kind, name) order.
    assert len(rows) == 50
    assert rows[0] == ("SME 0000", "Enterprise", "1")
    assert rows[-1][0] == "SME 0049"
    assert response.context["kind_counts"] == {
        "enterprise": 130,
        "lender": 3,
        "promotion_office": 0,
        "platform": 1,
    }
    assert "Organizations 1–50 of 134" in html
    assert "Page 1 of 3" in html
    assert 'href="?page=2"' in html
    # Each kind's count under its label (a link that filters by it).
    for kind, label, count in [
        ("enterprise", "Enterprise", 130),
        ("lender", "Lender", 3),
        ("promotion_office", "Credit promotion office", 0),
        ("platform", "Platform operator", 1),
    ]:
        assert re.search(
            rf'href="\?kind={kind}" data-kind="{kind}"><div class="card-body">'
            rf'<div class="display-6 text-body">{count}</div>'
            rf'<div class="text-muted small">{label}</div>',
            html,
        )
    _response, rows, html = _get(operator_client, page=3)
    assert [row[0] for row in rows] == [
        *(f"SME {i:04d}" for i in range(100, 130)),
        "Bank 0000",
        "Bank 0001",
        "Bank 0002",
        "信易贷平台运营中心",
    ]
    assert ("Bank 0001", "Lender", "2") in rows
    assert "Organizations 101–134 of 134" in html


def test_the_kind_filter_lists_the_banks_and_pages_keep_it(
    operator_client, smes_and_banks
):
    response, rows, html = _get(operator_client, kind="lender")
    assert rows == [
        ("Bank 0000", "Lender", "0"),
        ("Bank 0001", "Lender", "2"),
        ("Bank 0002", "Lender", "0"),
    ]
    assert response.context["kind"] == "lender"
    assert '<option value="lender" selected>Lender</option>' in html
    assert 'data-testid="organizations-pages"' not in html
    # The counts per kind do not depend on the filter.
    assert response.context["kind_counts"]["enterprise"] == 130
    # Page links keep the filter; choosing a kind starts at its first page.
    _response, rows, html = _get(operator_client, kind="enterprise", page=2)
    assert [row[0] for row in rows] == [f"SME {i:04d}" for i in range(50, 100)]
    assert 'href="?kind=enterprise&amp;page=1"' in html
    assert 'href="?kind=enterprise&amp;page=3"' in html
    assert 'href="?kind=lender"' in html
    _response, rows, _html = _get(operator_client, kind="promotion_office")
    assert rows == []
    assert "No organizations of this kind." in _html


def test_chinese_labels_and_no_stored_codes(operator_client, smes_and_banks):
    _response, rows, html = _get(operator_client, _url("zh-hans"), kind="lender")
    assert {row[1] for row in rows} == {"银行机构"}
    assert "全部类型" in html
    assert "第 1–3 个机构，共 3 个" in html
    visible = re.sub(r"<[^>]+>", " ", html)
    for code in ("promotion_office", "lender", "enterprise"):
        assert code not in visible


def _part(html, testid, end):
    return re.search(rf'data-testid="{testid}".*?{end}', html, re.S).group()


@pytest.mark.parametrize("bad", ["bank", "LENDER", "<b>x</b>"])
def test_an_unknown_kind_is_ignored_and_said_so(operator_client, smes_and_banks, bad):
    plain_response, plain_rows, plain_html = _get(operator_client)
    response, rows, html = _get(operator_client, kind=bad)
    assert 'data-testid="unknown-kind"' not in plain_html
    assert (
        "is not a kind of organization: organizations of every kind are listed." in html
    )
    assert "<b>x</b>" not in html  # the value is shown escaped
    # Nothing else changes: every kind listed, same rows, counts, filter and pages.
    assert response.context["kind"] is None
    assert rows == plain_rows
    assert response.context["organizations"].paginator.count == 134
    assert response.context["kind_counts"] == plain_response.context["kind_counts"]
    for testid, end in [
        ("kind-counts", r"</div>\s*</div>\s*<div class=\"row g-4\">"),
        ("kind-filter", "</form>"),
        ("organizations", "</table>"),
        ("organizations-pages", "</nav>"),  # the links drop the unknown kind
    ]:
        assert _part(html, testid, end) == _part(plain_html, testid, end)
    assert " selected" not in _part(html, "kind-filter", "</form>")


def test_a_bad_page_is_answered_as_get_page_does(operator_client, smes_and_banks):
    for page, number in [("abc", 1), ("0", 3), ("99", 3), ("2", 2)]:
        response, _rows, _html = _get(operator_client, page=page)
        assert response.context["organizations"].number == number
    response, rows, _html = _get(operator_client, kind="lender", page="7")
    assert response.context["organizations"].number == 1 and len(rows) == 3


def _queries(client, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(), params)
    assert response.status_code == 200
    organization_reads = [
        q["sql"] for q in queries if 'FROM "accounts_organization"' in q["sql"]
    ]
    # The counts per kind (one GROUP BY), the list's count, the page (LIMIT 50).
    assert len(organization_reads) == 3, organization_reads
    kind_counts, list_count, page = organization_reads
    assert kind_counts.startswith('SELECT "accounts_organization"."kind"')
    assert "GROUP BY" in kind_counts
    assert list_count.startswith("SELECT COUNT(*)")
    limit = re.search(r" LIMIT (\d+)( OFFSET \d+)?$", page)
    assert limit and int(limit.group(1)) <= 50
    return len(queries)


@pytest.mark.parametrize("params", [{}, {"kind": "enterprise"}, {"page": "2"}])
def test_as_many_queries_for_60_as_for_300_organizations(operator_client, params):
    _add(OrganizationKind.ENTERPRISE, 0, 60, "SME")
    at_60 = _queries(operator_client, **params)
    _add(OrganizationKind.ENTERPRISE, 60, 240, "SME")
    MembershipFactory(organization=Organization.objects.get(name="SME 0070"))
    at_300 = _queries(operator_client, **params)
    assert at_60 == at_300
