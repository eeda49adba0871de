"""The SME's data and consent pages, the operator's data pages, the provider webhook.

Views parse input, call a service or selector, and render; domain errors become
messages or 4xx answers.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.decorators import operator_membership, signed_in_user
from accounts.models import OrganizationKind
from accounts.selectors import membership_for
from borrowers import selectors as borrower_selectors
from borrowers import services as borrower_services
from borrowers.exceptions import BorrowersError, ConsentRequired
from borrowers.forms import ConsentForm
from borrowers.models import AccessChannel, CreditAuthorization, Enterprise
from core import signing
from core.codes import Category
from core.exceptions import TooSoon
from core.middleware import request_id_of
from core.signing import SignatureVerificationError
from creditdata import selectors, services
from creditdata.exceptions import EventReplayed
from creditdata.quality import FindingRule
from workflows import credit_data, provider_events

logger = logging.getLogger(__name__)


def _my_enterprise(request: HttpRequest) -> Enterprise:
    enterprise = borrower_selectors.enterprise_for_user(user=signed_in_user(request))
    if enterprise is None:
        raise Http404(_("You do not belong to a registered enterprise."))
    return enterprise


def _render_records(request, enterprise, category, queryset, back_url) -> HttpResponse:
    columns, page = selectors.record_table(
        category, queryset, page_number=request.GET.get("page")
    )
    return render(
        request,
        "creditdata/records.html",
        {
            "enterprise": enterprise,
            "category": Category(category),
            "columns": columns,
            "page": page,
            "back_url": back_url,
        },
    )


# --- the SME's own pages ---------------------------------------------------------------
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    enterprise = _my_enterprise(request)
    return render(
        request,
        "creditdata/my_data.html",
        {
            "enterprise": enterprise,
            "overview": selectors.enterprise_data_overview(enterprise=enterprise),
            "runs": selectors.enterprise_runs(enterprise=enterprise)[:10],
            "has_scoring_consent": borrower_selectors.active_authorizations(
                enterprise=enterprise
            )
            .filter(grantee__kind=OrganizationKind.PLATFORM)
            .exists(),
        },
    )


@login_required
def my_data_category(request: HttpRequest, category: str) -> HttpResponse:
    enterprise = _my_enterprise(request)
    if category not in Category.values:
        raise Http404(_("Unknown data category."))
    queryset = selectors.records_read(
        enterprise=enterprise,
        category=category,
        user=signed_in_user(request),
        organization=enterprise.organization,
        purpose=None,
        channel=AccessChannel.WEB,
        request_id=request_id_of(request),
    )
    return _render_records(
        request, enterprise, category, queryset, "creditdata:my_data"
    )


@login_required
@require_POST
def pull_now(request: HttpRequest) -> HttpResponse:
    enterprise = _my_enterprise(request)
    try:
        run = services.ingestion_request_now(
            enterprise=enterprise, requested_by=signed_in_user(request)
        )
    except TooSoon as error:
        messages.warning(request, error.message)
        return redirect("creditdata:my_data")
    except ConsentRequired as error:
        messages.error(request, error.message)
        return redirect("creditdata:consent_new")
    messages.success(
        request,
        _("Data pull queued for %(count)d categories.")
        % {"count": len(run.categories)},
    )
    return redirect("creditdata:my_data")


@login_required
def my_consents(request: HttpRequest) -> HttpResponse:
    enterprise = _my_enterprise(request)
    return render(
        request,
        "creditdata/consents.html",
        {
            "enterprise": enterprise,
            "authorizations": borrower_selectors.enterprise_authorizations(
                enterprise=enterprise
            ),
            "active_ids": set(
                borrower_selectors.active_authorizations(
                    enterprise=enterprise
                ).values_list("pk", flat=True)
            ),
            "is_owner": _is_owner(request, enterprise),
        },
    )


def _is_owner(request: HttpRequest, enterprise: Enterprise) -> bool:
    membership = membership_for(
        user=signed_in_user(request), kind=OrganizationKind.ENTERPRISE
    )
    return bool(
        membership
        and membership.organization_id == enterprise.organization_id
        and membership.role == "owner"
    )


@login_required
def consent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    enterprise = _my_enterprise(request)
    authorization = get_object_or_404(
        CreditAuthorization.objects.select_related("grantee", "granted_by", "notice"),
        pk=pk,
        enterprise=enterprise,
    )
    return render(
        request,
        "creditdata/consent_detail.html",
        {"enterprise": enterprise, "authorization": authorization},
    )


@login_required
def consent_new(request: HttpRequest) -> HttpResponse:
    """Two steps: choose the terms and read the rendered notice, then grant it."""
    enterprise = _my_enterprise(request)
    form = ConsentForm(request.POST or None)
    preview = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            language = translation.get_language() or settings.LANGUAGE_CODE
            try:
                preview = borrower_services.consent_preview(
                    enterprise=enterprise,
                    grantee=data["grantee"],
                    purpose=data["purpose"],
                    categories=data["categories"],
                    months=data["months"],
                    retention_days=data["retention_days"],
                    language=language,
                )
                if request.POST.get("action") == "grant":
                    if not data["agree"]:
                        form.add_error(
                            "agree",
                            _("Tick the box to confirm you have read the notice."),
                        )
                    else:
                        granted = credit_data.consent_grant(
                            enterprise=enterprise,
                            grantee=data["grantee"],
                            purpose=data["purpose"],
                            categories=data["categories"],
                            months=data["months"],
                            retention_days=data["retention_days"],
                            granted_by=signed_in_user(request),
                            language=language,
                            notice_sha256=data["notice_sha256"],
                        )
                        messages.success(request, _("Authorization granted."))
                        if granted.run is not None:
                            messages.info(
                                request,
                                _("Your public credit data is being pulled now."),
                            )
                        return redirect("creditdata:consents")
                else:
                    status = 200
            except BorrowersError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
                if error.field == "notice_sha256":
                    status = 409
        if preview is not None:
            # Carry the fingerprint of exactly the text shown into the grant step
            # (a preview exists only for a valid form, bound to ``request.POST``).
            bound = request.POST.copy()
            bound["notice_sha256"] = preview["sha256"]
            form.data = bound
    return render(
        request,
        "creditdata/consent_new.html",
        {
            "enterprise": enterprise,
            "form": form,
            "preview": preview,
            "is_owner": _is_owner(request, enterprise),
        },
        status=status,
    )


@login_required
@require_POST
def consent_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    enterprise = _my_enterprise(request)
    authorization = get_object_or_404(CreditAuthorization, pk=pk, enterprise=enterprise)
    try:
        credit_data.consent_revoke(
            authorization=authorization,
            revoked_by=signed_in_user(request),
            reason=request.POST.get("reason", ""),
        )
    except BorrowersError as error:
        messages.error(request, error.message)
        return redirect("creditdata:consents")
    messages.success(
        request,
        _("Authorization for %(grantee)s revoked. It takes effect immediately.")
        % {"grantee": authorization.grantee.name},
    )
    return redirect("creditdata:consents")


@login_required
def my_access_log(request: HttpRequest) -> HttpResponse:
    enterprise = _my_enterprise(request)
    page = Paginator(
        borrower_selectors.enterprise_access_log(enterprise=enterprise), 50
    ).get_page(request.GET.get("page"))
    return render(
        request, "creditdata/access_log.html", {"enterprise": enterprise, "page": page}
    )


# --- the platform operator's pages -------------------------------------------------------


@login_required
def operator_data_quality(request: HttpRequest) -> HttpResponse:
    operator_membership(request)
    rule = request.GET.get("rule") or None
    category = request.GET.get("category") or None
    if category and category not in Category.values:
        category = None
    page = Paginator(
        selectors.data_quality_findings(rule=rule, category=category), 50
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "creditdata/operator_data_quality.html",
        {
            "summary": [
                {
                    **row,
                    "label": dict(FindingRule.choices).get(row["rule"], row["rule"]),
                }
                for row in selectors.data_quality_summary()
            ],
            "page": page,
            "rule": rule,
            "category": category,
            "categories": Category.choices,
        },
    )


@login_required
def operator_records(
    request: HttpRequest, enterprise_pk: int, category: str
) -> HttpResponse:
    """An operator looks at an enterprise's records: consent checked, read logged."""
    membership = operator_membership(request)
    enterprise = get_object_or_404(Enterprise, pk=enterprise_pk)
    if category not in Category.values:
        raise Http404(_("Unknown data category."))
    try:
        queryset = selectors.records_read(
            enterprise=enterprise,
            category=category,
            user=signed_in_user(request),
            organization=membership.organization,
            purpose=None,
            channel=AccessChannel.WEB,
            request_id=request_id_of(request),
        )
    except ConsentRequired:
        raise Http404(_("The enterprise has not consented to this.")) from None
    return _render_records(
        request, enterprise, category, queryset, "creditdata:operator_data_quality"
    )


# --- provider webhooks -----------------------------------------------------------------
@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest) -> HttpResponse:
    """``records.updated`` / ``record.repaired``: re-pull the category under consent.

    Rejected, with nothing stored: a missing, malformed or wrong signature, a
    timestamp outside the 5-minute tolerance, an event id already received (replay).
    """
    body = request.body
    try:
        timestamp = signing.verify(
            settings.CREDIT_PROVIDER_WEBHOOK_SECRET,
            body,
            request.headers.get(signing.HEADER_NAME),
        )
    except SignatureVerificationError as error:
        logger.warning("provider webhook rejected: %s", error.reason)
        return JsonResponse({"error": error.reason}, status=400)
    try:
        event = json.loads(body)
        event_id, event_type, data = event["id"], event["type"], event["data"]
        uscc, category = data["uscc"], data["category"]
    except (ValueError, KeyError, TypeError):
        logger.warning("provider webhook rejected: malformed event body")
        return JsonResponse({"error": "malformed_event"}, status=400)
    if (
        event_type not in ("records.updated", "record.repaired")
        or category not in Category.values
    ):
        return JsonResponse({"error": "unsupported_event"}, status=400)
    try:
        record = provider_events.provider_event_receive(
            event_id=str(event_id),
            event_type=event_type,
            payload=event,
            signed_at=datetime.fromtimestamp(timestamp, tz=UTC),
            uscc=str(uscc),
            category=category,
        )
    except EventReplayed:
        logger.warning("provider webhook rejected: replay of event %s", event_id)
        return JsonResponse({"error": "replayed_event"}, status=409)
    started = record.runs_started
    return JsonResponse({"received": event_id, "pulls_started": started}, status=200)
