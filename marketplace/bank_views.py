"""The bank's pages for applications: the review queue, an application with the
actions the transition table gives the officer, the consent-gated applicant profile
and the SME's documents.

Who may open them: the staff of a bank (``lenders.selectors.lender_for_user``; anyone
else gets a 404, as on the bank's other pages), with their second factor set up (the
``RequireStaffMFAMiddleware`` sends bank staff without TOTP to the setup first). An
application of another lender is a 404 on every page and action. The applicant's
records and documents are shown only while ``selectors.review_consent`` returns the
application's consent, checked on every request before anything is read, so a
revoked or ended consent answers 404 and writes nothing to the access log.

Views parse, call a selector or ``services.application_act`` and render; the rules
(roles, states, ranges, the version) are the services'.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import signed_in_user
from accounts.models import OrganizationKind, Role
from accounts.selectors import membership_for
from borrowers.exceptions import ConsentRequired
from borrowers.models import AccessChannel, ConsentPurpose
from core.codes import DISTRICTS, INDUSTRIES, Category
from core.labels import label
from core.middleware import request_id_of
from creditdata import selectors as creditdata_selectors
from lenders import selectors as lender_selectors
from lenders.models import Lender
from marketplace import bank_forms, selectors, services, transitions
from marketplace.exceptions import (
    InvalidApplication,
    MarketplaceError,
    NotPermitted,
)
from marketplace.models import Application, RejectionReason

#: Applications per page of the queue.
QUEUE_PAGE_SIZE = 25
#: Records of each category the profile shows; the category's own page has them all.
PROFILE_ROWS_PER_CATEGORY = 20
#: Records per page of one category.
CATEGORY_PAGE_SIZE = 50


# --- who is looking ------------------------------------------------------------------


def _lender(request: HttpRequest) -> Lender:
    """The signed-in user's bank; 404 for anyone who is not on a bank's staff."""
    lender = lender_selectors.lender_for_user(user=signed_in_user(request))
    if lender is None:
        raise Http404(_("You are not on the staff of a bank."))
    return lender


def _is_admin(request: HttpRequest, lender: Lender) -> bool:
    membership = membership_for(
        user=signed_in_user(request), kind=OrganizationKind.LENDER
    )
    return bool(
        membership
        and membership.organization_id == lender.organization_id
        and membership.role == Role.ADMIN
    )


def _application(request: HttpRequest, reference: str) -> tuple[Lender, Application]:
    lender = _lender(request)
    application = selectors.bank_application(lender=lender, reference=reference)
    if application is None:
        raise Http404(_("No such application."))
    return lender, application


def _portal_context(request: HttpRequest, lender: Lender) -> dict[str, Any]:
    """What the bank portal's tabs need on these pages."""
    return {
        "lender": lender,
        "is_admin": _is_admin(request, lender),
        "bank_waiting_count": selectors.bank_waiting_count(lender=lender),
    }


# --- how an application is described --------------------------------------------------


def deadline_hint(due_at: dt.datetime | None, *, now: dt.datetime) -> dict | None:
    """The deadline as the queue shows it: the time in Asia/Shanghai (the template's
    time zone) and a hint in calendar days in Shanghai — overdue by N days (at least
    one, once the time has passed), due today, or N days left."""
    if due_at is None:
        return None
    if due_at < now:
        days = max(1, (timezone.localdate(now) - timezone.localdate(due_at)).days)
        text = ngettext(
            "Overdue by %(count)s day", "Overdue by %(count)s days", days
        ) % {"count": days}
        return {"at": due_at, "text": text, "overdue": True, "days": -days}
    days = (timezone.localdate(due_at) - timezone.localdate(now)).days
    if days == 0:
        text = _("Due today")
    else:
        text = ngettext("%(count)s day left", "%(count)s days left", days) % {
            "count": days
        }
    return {"at": due_at, "text": text, "overdue": False, "days": days}


def next_actor_label(status: str) -> str:
    """Whose turn it is, in words (``transitions.NEXT_ACTOR``); "—" when nobody's."""
    actor = transitions.NEXT_ACTOR.get(status)
    labels = {
        "sme": pgettext("next actor", "The applicant"),
        "bank": pgettext("next actor", "The bank"),
        "operator": pgettext("next actor", "The platform"),
    }
    return labels.get(actor or "", "—")


def _queue_row(application: Application, *, now: dt.datetime) -> dict[str, Any]:
    return {
        "application": application,
        "district": label(DISTRICTS, application.district),
        "deadline": deadline_hint(application.due_at, now=now),
        "next_actor": next_actor_label(application.status),
    }


# --- the queue -------------------------------------------------------------------------


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The lender's applications, overdue first, then by the nearest deadline;
    filtered by status, product, district and amount. A filter that cannot be
    understood is shown on the form and the list is empty (never a guess)."""
    lender = _lender(request)
    form = bank_forms.QueueFilterForm(
        request.GET,
        products=selectors.bank_queue_products(lender=lender),
        districts=selectors.bank_queue_districts(lender=lender),
    )
    if form.is_valid():
        applications = selectors.bank_queue(lender=lender, **form.filters())
    else:
        applications = Application.objects.none()
    page = Paginator(applications, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    return render(
        request,
        "marketplace/bank/queue.html",
        {
            **_portal_context(request, lender),
            "form": form,
            "page": page,
            "rows": [_queue_row(application, now=now) for application in page],
            "invalid_fields": [field for field in form if field.errors],
            "filtered": any(
                value for key, value in request.GET.items() if key != "page"
            ),
        },
    )


@login_required
@require_GET
def waiting_count(request: HttpRequest) -> HttpResponse:
    """The number on the portal's "Applications" tab (an htmx fragment, for the
    bank pages of other apps, which do not know the marketplace); 204 for anyone
    who is not on a bank's staff."""
    lender = lender_selectors.lender_for_user(user=signed_in_user(request))
    if lender is None:
        return HttpResponse(status=204)
    return render(
        request,
        "marketplace/bank/_waiting_count.html",
        {"bank_waiting_count": selectors.bank_waiting_count(lender=lender)},
    )


# --- one application -------------------------------------------------------------------


def _action_forms(
    application: Application,
    roles: frozenset[str],
    *,
    bound: bank_forms.ActionForm | None = None,
    initial: dict[str, dict] | None = None,
) -> list[bank_forms.ActionForm]:
    """A form for each transition the table gives ``roles`` from the application's
    state (``bound``, the one just posted, in its place)."""
    forms = []
    for transition in transitions.allowed_transitions(application.status, roles):
        if transition.action not in transitions.BANK_ACTIONS:
            continue
        if bound is not None and bound.transition.action == transition.action:
            forms.append(bound)
            continue
        kept = (initial or {}).get(transition.action)
        form = bank_forms.action_form_class(transition)(
            application=application, transition=transition, initial=kept
        )
        form.expanded = kept is not None
        forms.append(form)
    return forms


def _reserved_actions(
    application: Application, roles: frozenset[str]
) -> list[dict[str, Any]]:
    """The bank's transitions from this state that this officer's role may not take,
    with the roles that may (from the table): "Report the disbursement — Bank
    administrator"."""
    allowed = {
        t.action for t in transitions.allowed_transitions(application.status, roles)
    }
    reserved = []
    for action in transitions.BANK_ACTIONS:
        transition = transitions.TRANSITIONS[action]
        if application.status in transition.sources and action not in allowed:
            reserved.append(
                {
                    "transition": transition,
                    "roles": [
                        transitions.ROLE_LABELS[role]
                        for role in transitions.ROLES
                        if role in transition.roles
                    ],
                }
            )
    return reserved


def _reasons(application: Application, language: str) -> list[dict[str, str]]:
    """The frozen score's reasons in the page's language (both are stored)."""
    suffix = "en" if language == "en" else "zh"
    return [
        {
            "text": reason.get(f"text_{suffix}", ""),
            "factor": reason.get(f"factor_{suffix}", ""),
        }
        for reason in application.snapshot_reasons or []
    ]


def _render_application(
    request: HttpRequest,
    lender: Lender,
    application: Application,
    *,
    bound: bank_forms.ActionForm | None = None,
    initial: dict[str, dict] | None = None,
    status: int = 200,
) -> HttpResponse:
    roles = services.application_roles(
        user=signed_in_user(request), application=application
    )
    consent = selectors.review_consent(application=application)
    enterprise = application.enterprise
    return render(
        request,
        "marketplace/bank/application.html",
        {
            **_portal_context(request, lender),
            "application": application,
            "enterprise": enterprise,
            "industry": label(INDUSTRIES, enterprise.industry),
            "enterprise_district": label(DISTRICTS, enterprise.district),
            "district": label(DISTRICTS, application.district),
            "reasons": _reasons(application, translation.get_language() or ""),
            "pd_percent": (
                application.snapshot_pd * 100
                if application.snapshot_pd is not None
                else None
            ),
            "deadline": deadline_hint(application.due_at, now=timezone.now()),
            "next_actor": next_actor_label(application.status),
            "rejection_reasons": [
                label(RejectionReason, code) for code in application.rejection_reasons
            ],
            "consent": consent,
            "scope": (
                [code for code in Category.values if code in set(consent.scope or ())]
                if consent
                else []
            ),
            "timeline": selectors.application_timeline(application=application),
            "information_requests": selectors.application_information_requests(
                application=application
            ),
            "action_forms": _action_forms(
                application, roles, bound=bound, initial=initial
            ),
            "reserved_actions": _reserved_actions(application, roles),
            "role_labels": [
                transitions.ROLE_LABELS[role]
                for role in transitions.ROLES
                if role in roles
            ],
        },
        status=status,
    )


@login_required
@require_GET
def application_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The application, the applicant and its frozen score, the history, the bank's
    questions and the SME's answers, and the forms of the actions this officer may
    take now."""
    lender, application = _application(request, reference)
    return _render_application(request, lender, application)


@login_required
@require_POST
def application_act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    """One of the bank's actions (``transitions.BANK_ACTIONS``) through
    ``services.application_act``, with the version the page showed.

    A form that does not parse, or terms the service refuses, come back on the
    form's fields (400); an action the officer's role may not take is refused (403);
    a wrong state or a stale version (409) re-renders the page as it is now, with
    the officer's input kept, and says why. Nothing is changed in any of these."""
    lender, application = _application(request, reference)
    transition = transitions.transition_for(action)
    if transition is None or action not in transitions.BANK_ACTIONS:
        raise Http404(_("No such action."))
    form_class = bank_forms.action_form_class(transition)
    form = form_class(request.POST, application=application, transition=transition)
    if not form.is_valid():
        return _render_application(request, lender, application, bound=form, status=400)
    actor = services.user_actor(
        user=signed_in_user(request),
        application=application,
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    try:
        services.application_act(
            application=application, action=action, actor=actor, **form.payload()
        )
    except InvalidApplication as error:
        for field, field_errors in error.errors.items():
            for message in field_errors:
                form.add_error(field if field in form.fields else None, message)
        return _render_application(request, lender, application, bound=form, status=400)
    except NotPermitted as error:
        messages.error(request, error.message)
        return _render_application(request, lender, application, status=403)
    except MarketplaceError as error:
        # The application moved on (another officer, the SME, the clock): show it as
        # it is now; what the officer typed is kept in the form, if it still applies.
        messages.error(request, error.message)
        kept = dict(form.cleaned_data)
        kept.pop("expected_version", None)
        fresh = selectors.bank_application(lender=lender, reference=reference)
        if fresh is None:  # pragma: no cover - applications are never deleted
            raise Http404(_("No such application.")) from None
        return _render_application(
            request, lender, fresh, initial={action: kept}, status=409
        )
    messages.success(
        request,
        _("%(reference)s: %(action)s — done.")
        % {"reference": application.reference, "action": transition.label},
    )
    return redirect("marketplace:bank_application", reference=application.reference)


# --- the applicant's records, under the application's consent --------------------------


@login_required
@require_GET
def profile(request: HttpRequest, reference: str) -> HttpResponse:
    """The applicant's records of each category the application's consent covers
    (``?category=`` one of them, every record, paginated).

    404, with nothing read and nothing logged: no consent in force now (revoked,
    ended by a decision or a withdrawal, expired) or the application out of review;
    a category outside the consent. Each category shown is read through
    ``creditdata.selectors.records_read``, which writes one access-log row; the
    reads and the page's rows are taken in one transaction, so a consent that ends
    between two categories leaves no log of a page that was never shown."""
    lender, application = _application(request, reference)
    consent = selectors.review_consent(application=application)
    if consent is None:
        raise Http404(_("The applicant's consent does not cover this now."))
    scope = [code for code in Category.values if code in set(consent.scope or ())]
    only = request.GET.get("category")
    if only is not None:
        if only not in scope:
            raise Http404(_("The applicant's consent does not cover this now."))
        categories, per_page = [only], CATEGORY_PAGE_SIZE
    else:
        categories, per_page = scope, PROFILE_ROWS_PER_CATEGORY
    user = signed_in_user(request)
    request_id = request_id_of(request)
    sections = []
    try:
        with transaction.atomic():
            for category in categories:
                queryset = creditdata_selectors.records_read(
                    enterprise=application.enterprise,
                    category=category,
                    user=user,
                    organization=lender.organization,
                    purpose=ConsentPurpose.LOAN_REVIEW,
                    channel=AccessChannel.WEB,
                    request_id=request_id,
                    authorization=consent,
                )
                columns, page = creditdata_selectors.record_table(
                    category,
                    queryset,
                    page_number=request.GET.get("page") if only else 1,
                    per_page=per_page,
                )
                sections.append(
                    {"category": Category(category), "columns": columns, "page": page}
                )
    except ConsentRequired:
        raise Http404(_("The applicant's consent does not cover this now.")) from None
    return render(
        request,
        "marketplace/bank/profile.html",
        {
            **_portal_context(request, lender),
            "application": application,
            "enterprise": application.enterprise,
            "consent": consent,
            "scope": scope,
            "sections": sections,
            "single": only is not None,
        },
    )


@login_required
@require_GET
def document(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """A file the SME sent with an answer, as a download (never shown inline: the
    bytes are the SME's), under the same rule as the records: 404 without the
    consent in force."""
    _lender, application = _application(request, reference)
    if selectors.review_consent(application=application) is None:
        raise Http404(_("The applicant's consent does not cover this now."))
    found = selectors.application_document(application=application, pk=pk)
    if found is None:
        raise Http404(_("No such document."))
    response = HttpResponse(bytes(found.content), content_type=found.content_type)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=found.filename)
        or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
