"""Reads of stored public credit records.

Every read of an enterprise's records by someone outside the enterprise goes through
``records_read``: it checks the consent at that moment and appends exactly one row to
the enterprise's access log. Members of the enterprise read their own data unlogged.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, Max, QuerySet
from django.utils.text import capfirst

from accounts.models import Organization, User
from borrowers import selectors as borrower_selectors
from borrowers import services as borrower_services
from borrowers.exceptions import ConsentRequired
from borrowers.models import CreditAuthorization, Enterprise
from core.codes import Category
from creditdata.categories import RECORD_FIELDS
from creditdata.models import (
    RECORD_MODELS,
    DataQualityFinding,
    IngestionRun,
    PublicCreditRecord,
)


def records_read(
    *,
    enterprise: Enterprise,
    category: str,
    user: User | None,
    organization: Organization | None,
    purpose: str | None,
    channel: str,
    request_id: str,
    authorization: CreditAuthorization | None = None,
) -> QuerySet[PublicCreditRecord]:
    """The enterprise's records of ``category``, if the reader may see them now.

    ``authorization`` names the consent the read is made under (a bank reviewing one
    application reads under that application's consent, not whichever of its
    consents is newest): it must be in force now, granted to ``organization`` and
    cover ``category``, and it is the one the access log records."""
    if category not in RECORD_MODELS:
        raise ConsentRequired(f"Unknown category {category!r}.")
    queryset = RECORD_MODELS[category]._default_manager.filter(enterprise=enterprise)
    if borrower_selectors.user_is_enterprise_member(user=user, enterprise=enterprise):
        return queryset
    if organization is None:
        raise ConsentRequired("No organization to read on behalf of.")
    if authorization is not None:
        if not (
            authorization.enterprise_id == enterprise.pk
            and authorization.grantee_id == organization.pk
            and (purpose is None or authorization.purpose == purpose)
            and authorization.covers(category)
            and borrower_selectors.authorization_is_usable(authorization=authorization)
        ):
            authorization = None
    else:
        authorization = borrower_selectors.authorization_for_read(
            enterprise=enterprise,
            organization=organization,
            category=category,
            purpose=purpose,
        )
    if authorization is None:
        raise ConsentRequired(
            f"{organization.name} has no consent in force for {category} of {enterprise.uscc}."
        )
    borrower_services.access_log_record(
        enterprise=enterprise,
        authorization=authorization,
        organization=organization,
        category=category,
        channel=channel,
        request_id=request_id,
        actor=user,
    )
    return queryset


def enterprise_data_overview(*, enterprise: Enterprise) -> list[dict]:
    """Per category: how many records are stored and when they were last fetched."""
    overview = []
    for category in Category:
        stats = (
            RECORD_MODELS[category]
            ._default_manager.filter(enterprise=enterprise)
            .aggregate(count=Count("pk"), fetched=Max("fetched_at"))
        )
        overview.append(
            {
                "category": category.value,
                "label": category.label,
                "count": stats["count"],
                "fetched_at": stats["fetched"],
            }
        )
    return overview


def enterprise_runs(*, enterprise: Enterprise) -> QuerySet[IngestionRun]:
    return IngestionRun.objects.filter(enterprise=enterprise).select_related(
        "requested_by"
    )


def data_quality_findings(
    *, rule: str | None = None, category: str | None = None
) -> QuerySet[DataQualityFinding]:
    queryset = DataQualityFinding.objects.select_related("enterprise").order_by(
        "-created_at", "enterprise__name", "category"
    )
    if rule:
        queryset = queryset.filter(rule=rule)
    if category:
        queryset = queryset.filter(category=category)
    return queryset


def data_quality_summary() -> list[dict]:
    return list(
        DataQualityFinding.objects.values("rule", "severity")
        .annotate(total=Count("pk"), enterprises=Count("enterprise", distinct=True))
        .order_by("rule")
    )


def record_table(
    category: str, queryset: QuerySet, *, page_number: Any, per_page: int = 50
) -> tuple[list[dict], Any]:
    """The columns shown and page ``page_number`` (``per_page`` rows a page) of
    ``queryset``'s records, for a page that shows them (the SME's own, a bank's under
    consent): two queries (the count, the page's slice) however many records there
    are.

    A column is its header (the field's name, capitalized, in the active language)
    and how its cells are shown (``FieldSpec.display``); a row is its cells in column
    order. A coded value is replaced by its label here, so no stored code reaches the
    page; the template formats months, money, numbers and flags for the locale.

    Bad page input is ``Paginator.get_page``'s: not a number is the first page, a
    number out of range (past the end, zero or less) the last one."""
    model = queryset.model
    specs = RECORD_FIELDS[category]
    names = [spec.name for spec in specs]
    ordered = queryset.order_by(*model._meta.ordering, "pk")  # pages never overlap
    page = Paginator(
        ordered.values("source", "source_id", "fetched_at", *names), per_page
    ).get_page(page_number)
    fields = {name: model._meta.get_field(name) for name in names}
    columns = [
        {
            "name": spec.name,
            "label": capfirst(fields[spec.name].verbose_name),
            "display": spec.display,
        }
        for spec in specs
    ]
    labels = {
        name: dict(field.flatchoices) for name, field in fields.items() if field.choices
    }
    rows = []
    for values in page.object_list:
        cells = []
        for spec in specs:
            value = values[spec.name]
            if spec.name in labels and value is not None:
                value = labels[spec.name].get(value, value)
            cells.append({"display": spec.display, "value": value})
        rows.append(
            {
                "cells": cells,
                "source": values["source"],
                "source_id": values["source_id"],
                "fetched_at": values["fetched_at"],
            }
        )
    page.object_list = rows
    return columns, page
