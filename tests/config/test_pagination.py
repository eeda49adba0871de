"""The shared pagination links keep the page's filters and change only ``page``."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.selectors import platform_organization
from creditdata.models import DataQualityFinding, FindingSeverity
from tests.factories import MembershipFactory, activate_totp
from tests.factories.borrowers import enterprise_with_owner

pytestmark = pytest.mark.django_db


def _links(page: str) -> dict[str, dict[str, list[str]]]:
    """The query of each ``rel="prev"`` / ``rel="next"`` pagination link."""
    found = re.findall(r'<a class="page-link" rel="(prev|next)" href="([^"]*)"', page)
    return {rel: parse_qs(urlsplit(html.unescape(href)).query) for rel, href in found}


def test_operator_data_quality_pages_keep_both_filters(client):
    enterprise, _owner = enterprise_with_owner()
    # 120 findings match both filters (three pages of 50); others match one or none.
    DataQualityFinding.objects.bulk_create(
        [
            DataQualityFinding(
                enterprise=enterprise,
                category="tax",
                rule="missing_months",
                severity=FindingSeverity.WARNING,
                message=f"gap {i}",
            )
            for i in range(120)
        ]
        + [
            DataQualityFinding(
                enterprise=enterprise,
                category=category,
                rule=rule,
                severity=FindingSeverity.ERROR,
                message="other",
            )
            for category, rule in [
                ("tax", "negative_amount"),
                ("social_insurance", "missing_months"),
            ]
            for _ in range(60)
        ]
    )
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    url = reverse("creditdata:operator_data_quality")

    response = client.get(url, {"rule": "missing_months", "category": "tax", "page": 2})

    assert response.status_code == 200
    page = response.context["page"]
    assert (page.number, page.paginator.count) == (2, 120)
    assert _links(response.content.decode()) == {
        "prev": {"rule": ["missing_months"], "category": ["tax"], "page": ["1"]},
        "next": {"rule": ["missing_months"], "category": ["tax"], "page": ["3"]},
    }
    # Following a link lands on the neighbouring page of the same filtered list.
    last = client.get(url, {"rule": "missing_months", "category": "tax", "page": 3})
    assert (last.context["page"].number, len(last.context["page"])) == (3, 20)
    assert _links(last.content.decode()) == {
        "prev": {"rule": ["missing_months"], "category": ["tax"], "page": ["2"]},
    }
