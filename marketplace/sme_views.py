"""The SME's side of the marketplace and every user's inbox.

Apply for a listed product under a separate authorization to its bank, follow one's
applications (whose turn it is, by when), read the decision and its reasons, answer
the bank's questions with documents, accept or decline a counter-offer, withdraw.
Views parse the request, call the apply workflow or ``services.application_act``
and render; the rules (ranges, file types, the transition table) live in the
services, whose errors come back as field errors or messages. The buttons an
application's page shows are the transitions the table allows the SME's roles in
its current state, never a list kept here.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import signed_in_user
from accounts.models import OrganizationKind, Role, User
from accounts.selectors import membership_for
from borrowers import selectors as borrower_selectors
from borrowers.exceptions import (
    BorrowersError,
    EnterpriseNotVerified,
    InvalidConsent,
    NotEnterpriseOwner,
)
from borrowers.models import ConsentPurpose, Enterprise
from lenders.filters import listed_products
from lenders.models import LoanProduct
from marketplace import notifications, selectors, services, transitions
from marketplace.exceptions import (
    ActiveApplicationExists,
    ApplyNotPossible,
    InvalidApplication,
    MarketplaceError,
)
from marketplace.forms import AnswerForm, ApplyForm, ConfirmForm, NoteForm
from marketplace.models import (
    CLOSED_STATES,
    Application,
    ApplicationStatus,
    RejectionReason,
)
from scoring import selectors as scoring_selectors
from workflows.applications import application_apply

logger = logging.getLogger(__name__)

APPLICATIONS_PAGE_SIZE = 20
INBOX_PAGE_SIZE = 20
#: How many reads of the applicant's records the application's page lists (the
#: access log page has them all).
ACCESS_LOG_SHOWN = 50
#: The fields of the apply form the workflow's terms errors belong to.
TERMS_FIELDS = ("amount", "term", "purpose")


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _my_enterprise(request: HttpRequest) -> Enterprise:
    enterprise = borrower_selectors.enterprise_for_user(user=signed_in_user(request))
    if enterprise is None:
        raise Http404(_("You do not belong to a registered enterprise."))
    return enterprise


def _is_owner(user: User, enterprise: Enterprise) -> bool:
    membership = membership_for(user=user, kind=OrganizationKind.ENTERPRISE)
    return bool(
        membership
        and membership.organization_id == enterprise.organization_id
        and membership.role == Role.OWNER
    )


def _my_application(request: HttpRequest, reference: str) -> Application:
    """One of the signed-in user's enterprise's applications; 404 for any other
    (another enterprise's is indistinguishable from one that does not exist)."""
    application = selectors.enterprise_application(
        enterprise=_my_enterprise(request), reference=reference
    )
    if application is None:
        raise Http404(_("No such application."))
    return application


def next_step(application: Application) -> dict[str, Any]:
    """Whose turn it is and by when, in words: "银行处理中，截止 2026-12-09",
    "待您补充材料". ``actor`` is ``transitions.NEXT_ACTOR``'s (empty once closed)."""
    status = application.status
    actor = "" if status in CLOSED_STATES else transitions.NEXT_ACTOR.get(status, "")
    due_at = application.due_at if actor == "bank" else None
    if not actor:
        text = _("Closed")
    elif actor == "bank":
        if due_at is not None:
            text = _("With the bank, due %(date)s") % {
                "date": timezone.localtime(due_at).strftime("%Y-%m-%d")
            }
        else:
            text = _("With the bank")
    elif actor == "operator":
        text = _("With the credit promotion office")
    elif status == ApplicationStatus.INFO_REQUESTED:
        text = _("Your turn: answer the bank's question")
    elif status == ApplicationStatus.COUNTER_OFFERED:
        text = _("Your turn: accept or decline the counter-offer")
    else:
        text = _("Your turn: submit the application")
    return {"actor": actor, "text": text, "due_at": due_at}


# --- applying -----------------------------------------------------------------------


def _listed_product(pk: int) -> LoanProduct:
    product = (
        listed_products().select_related("lender__organization").filter(pk=pk).first()
    )
    if product is None:
        raise Http404(_("This product is not offered at the moment."))
    return product


def _apply_blockers(enterprise: Enterprise) -> list[dict[str, str]]:
    """What the SME must do before it can apply, each with where to do it: verify
    the enterprise, authorize the platform to score it, be scored."""
    blockers = []
    if not enterprise.is_verified:
        blockers.append(
            {
                "code": "verification_required",
                "message": _(
                    "Verify your enterprise first: an unverified enterprise cannot "
                    "authorize a bank to read its data."
                ),
                "url": reverse("borrowers:verify"),
                "link": _("Verify the enterprise"),
            }
        )
    if selectors.scoring_consent(enterprise=enterprise) is None:
        blockers.append(_next_step_for("scoring_consent_required"))
    elif scoring_selectors.latest_score(enterprise_pk=enterprise.pk) is None:
        blockers.append(_next_step_for("score_required"))
    return blockers


def _next_step_for(code: str, message: str = "") -> dict[str, str]:
    """Where an SME that cannot apply goes next (``ApplyNotPossible.code``)."""
    if code == "scoring_consent_required":
        return {
            "code": code,
            "message": message
            or _(
                "Authorize the platform to score your enterprise first: a bank sees "
                "your score with your application."
            ),
            "url": reverse("creditdata:consent_new"),
            "link": _("Grant a consent"),
        }
    if code == "score_required":
        return {
            "code": code,
            "message": message
            or _(
                "Your enterprise has no score yet: once your data is pulled it is "
                "scored, then you can apply."
            ),
            "url": reverse("scoring:my_score"),
            "link": _("See my score"),
        }
    if code == "enterprise_required":
        return {
            "code": code,
            "message": message,
            "url": reverse("borrowers:register"),
            "link": _("Register your enterprise"),
        }
    return {
        "code": code,
        "message": message,
        "url": reverse("supermarket:list"),
        "link": _("Loan product supermarket"),
    }


def _cannot_apply(
    request: HttpRequest,
    product: LoanProduct,
    *,
    enterprise: Enterprise | None,
    message: str,
) -> HttpResponse:
    """A clear page for a user who may not apply for the enterprise (none, or not an
    owner), instead of an error."""
    return render(
        request,
        "marketplace/sme/cannot_apply.html",
        {"product": product, "enterprise": enterprise, "message": message},
        status=403,
    )


def _render_apply(
    request: HttpRequest,
    *,
    product: LoanProduct,
    enterprise: Enterprise,
    form: ApplyForm | None,
    alert: dict[str, str] | None = None,
    existing: Application | None = None,
    blockers: list[dict[str, str]] | None = None,
    renew_agreement: bool = False,
    status: int = 200,
) -> HttpResponse:
    """The apply page. A form is shown with the notice of the separate authorization
    as it reads now; its fingerprint and a fresh idempotency key are put into the
    form (a bound form keeps what the SME typed, but not the agreement to a notice
    that has changed: ``renew_agreement``)."""
    language = get_language() or settings.LANGUAGE_CODE
    preview = None
    if form is not None:
        try:
            preview = selectors.application_consent_preview(
                enterprise=enterprise, product=product, language=language
            )
        except BorrowersError as error:
            # The bank cannot receive a consent now (its organization inactive).
            alert = {"message": str(error.message), "url": "", "link": ""}
            form = None
        else:
            fresh = {
                "notice_sha256": preview["sha256"],
                "idempotency_key": uuid.uuid4().hex,
            }
            if form.is_bound:
                data = request.POST.copy()
                for name, value in fresh.items():
                    data[name] = value
                if renew_agreement:  # the text changed: it must be agreed again
                    data.pop("agree", None)
                form.data = data
            else:
                form.initial.update(fresh)
    return render(
        request,
        "marketplace/sme/apply.html",
        {
            "product": product,
            "enterprise": enterprise,
            "form": form,
            "preview": preview,
            "alert": alert,
            "existing": existing,
            "blockers": blockers or [],
            "purpose_label": ConsentPurpose.LOAN_REVIEW.label,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, product_pk: int) -> HttpResponse:
    """Apply for a listed product: amount, term, purpose and the separate
    authorization to the product's bank (purpose ``loan_review``, exactly the
    product's required categories), read and agreed on this page."""
    product = _listed_product(product_pk)
    user = signed_in_user(request)
    enterprise = borrower_selectors.enterprise_for_user(user=user)
    if enterprise is None:
        return _cannot_apply(
            request,
            product,
            enterprise=None,
            message=_("Register your enterprise before applying."),
        )
    if not _is_owner(user, enterprise):
        return _cannot_apply(
            request,
            product,
            enterprise=enterprise,
            message=_(
                "Only an owner of %(name)s may apply for a loan and authorize a bank "
                "to read its data. Ask an owner to apply."
            )
            % {"name": enterprise.name},
        )
    context: dict[str, Any] = {"product": product, "enterprise": enterprise}
    if request.method == "GET":
        existing = selectors.active_application_for(
            enterprise=enterprise, product=product
        )
        blockers = [] if existing else _apply_blockers(enterprise)
        if existing or blockers:
            return _render_apply(
                request, **context, form=None, existing=existing, blockers=blockers
            )
        return _render_apply(request, **context, form=ApplyForm())

    form = ApplyForm(request.POST)
    if not form.is_valid():
        return _render_apply(request, **context, form=form, status=400)
    data = form.cleaned_data
    try:
        application = application_apply(
            user=user,
            product=product,
            amount=data["amount"],
            term=data["term"],
            purpose=data["purpose"],
            idempotency_key=data["idempotency_key"],
            notice_sha256=data["notice_sha256"] or None,
            language=get_language() or settings.LANGUAGE_CODE,
            ip_address=_client_ip(request),
        )
    except InvalidApplication as error:
        for field, field_messages in error.errors.items():
            for message in field_messages:
                form.add_error(field if field in TERMS_FIELDS else None, message)
        return _render_apply(request, **context, form=form, status=400)
    except ApplyNotPossible as error:
        return _render_apply(
            request,
            **context,
            form=None,
            alert=_next_step_for(error.code, str(error.message)),
            status=409,
        )
    except ActiveApplicationExists as error:
        return _render_apply(
            request,
            **context,
            form=None,
            alert={"message": str(error.message), "url": "", "link": ""},
            existing=selectors.active_application_for(
                enterprise=enterprise, product=product
            ),
            status=409,
        )
    except EnterpriseNotVerified as error:
        return _render_apply(
            request,
            **context,
            form=None,
            alert={
                "message": str(error.message),
                "url": reverse("borrowers:verify"),
                "link": _("Verify the enterprise"),
            },
            status=409,
        )
    except NotEnterpriseOwner as error:
        return _cannot_apply(
            request, product, enterprise=enterprise, message=str(error.message)
        )
    except InvalidConsent as error:
        if error.field != "notice_sha256":
            form.add_error(None, error.message)
            return _render_apply(request, **context, form=form, status=400)
        # The notice changed since it was read: show the new text, to be agreed again.
        form.add_error(
            None,
            _(
                "The text of the authorization changed since you read it. Read the "
                "new text and agree to it again."
            ),
        )
        return _render_apply(
            request, **context, form=form, renew_agreement=True, status=409
        )
    except BorrowersError as error:
        form.add_error(None, error.message)
        return _render_apply(request, **context, form=form, status=400)
    messages.success(
        request,
        _("Application %(reference)s was sent to %(bank)s. It must answer by %(date)s.")
        % {
            "reference": application.reference,
            "bank": application.lender.display_name,
            "date": timezone.localtime(application.due_at).strftime("%Y-%m-%d")
            if application.due_at
            else "—",
        },
    )
    return redirect("marketplace:my_application", reference=application.reference)


# --- the SME's applications -----------------------------------------------------------


@login_required
@require_GET
def my_applications(request: HttpRequest) -> HttpResponse:
    enterprise = _my_enterprise(request)
    page = Paginator(
        selectors.enterprise_applications(enterprise=enterprise),
        APPLICATIONS_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    rows = [
        {"application": application, "next_step": next_step(application)}
        for application in page.object_list
    ]
    return render(
        request,
        "marketplace/sme/applications.html",
        {"enterprise": enterprise, "page": page, "rows": rows},
    )


@require_GET
def my_applications_summary(request: HttpRequest) -> HttpResponse:
    """The dashboard's line on the applications (htmx; the accounts dashboard cannot
    import the marketplace). 204 for anyone without an enterprise."""
    user = request.user
    if not isinstance(user, User):
        return HttpResponse(status=204)
    enterprise = borrower_selectors.enterprise_for_user(user=user)
    if enterprise is None:
        return HttpResponse(status=204)
    return render(
        request,
        "marketplace/sme/_applications_summary.html",
        {"summary": selectors.enterprise_applications_summary(enterprise=enterprise)},
    )


def _action_form_class(
    transition: transitions.Transition,
) -> type[NoteForm | AnswerForm]:
    """The form an SME action is taken with: the answer (text and files) when it
    needs one; a ticked confirmation when it closes the application (withdraw,
    decline the offer); an optional note otherwise."""
    if transitions.NEEDS_ANSWER in transition.needs:
        return AnswerForm
    if transition.target in CLOSED_STATES:
        return ConfirmForm
    return NoteForm


def _reasons(application: Application) -> list[dict[str, str]]:
    """The frozen score's reasons in the active language."""
    english = (get_language() or "").startswith("en")
    reasons = []
    for reason in application.snapshot_reasons or []:
        if not isinstance(reason, dict):
            continue
        reasons.append(
            {
                "text": reason.get("text_en" if english else "text_zh") or "",
                "factor": reason.get("factor_en" if english else "factor_zh") or "",
            }
        )
    return reasons


def _render_detail(
    request: HttpRequest,
    application: Application,
    *,
    bound: dict[str, NoteForm | AnswerForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = signed_in_user(request)
    roles = services.application_roles(user=user, application=application)
    actions = []
    for transition in transitions.allowed_transitions(
        application.status, roles & transitions.SME_ROLES
    ):
        form = (bound or {}).get(transition.action)
        if form is None:
            form = _action_form_class(transition)(
                initial={"version": application.version},
                auto_id=f"id_{transition.action}_%s",
            )
        actions.append(
            {
                "transition": transition,
                "form": form,
                "answer": isinstance(form, AnswerForm),
                "confirm": isinstance(form, ConfirmForm),
                "url": reverse(
                    "marketplace:my_application_act",
                    args=[application.reference, transition.action],
                ),
            }
        )
    access_log = selectors.application_access_log(application=application)
    access_entries = list(access_log[:ACCESS_LOG_SHOWN])
    access_total = (
        access_log.count()
        if len(access_entries) == ACCESS_LOG_SHOWN
        else len(access_entries)
    )
    requests = selectors.application_information_requests(application=application)
    return render(
        request,
        "marketplace/sme/application.html",
        {
            "enterprise": application.enterprise,
            "application": application,
            "next_step": next_step(application),
            "reasons": _reasons(application),
            "rejection_reasons": [
                RejectionReason(code).label if code in RejectionReason.values else code
                for code in application.rejection_reasons or []
            ],
            "authorization": application.authorization,
            "consent_in_force": selectors.review_consent(application=application)
            is not None,
            "information_requests": requests,
            "open_request": next(
                (item for item in reversed(requests) if item.answered_at is None),
                None,
            ),
            "actions": actions,
            "timeline": selectors.application_timeline(application=application),
            "access_entries": access_entries,
            "access_total": access_total,
        },
        status=status,
    )


@login_required
@require_GET
def my_application(request: HttpRequest, reference: str) -> HttpResponse:
    return _render_detail(request, _my_application(request, reference))


@login_required
@require_POST
def my_application_act(
    request: HttpRequest, reference: str, action: str
) -> HttpResponse:
    """Take one of the SME's actions (``transitions.SME_ACTIONS``) on the application;
    whether it may now is the table's and the service's to say."""
    application = _my_application(request, reference)
    transition = transitions.TRANSITIONS.get(action)
    if transition is None or action not in transitions.SME_ACTIONS:
        raise Http404(_("No such action."))
    form_class = _action_form_class(transition)
    form: NoteForm | AnswerForm = form_class(
        request.POST, request.FILES, auto_id=f"id_{action}_%s"
    )
    if not form.is_valid():
        return _render_detail(request, application, bound={action: form}, status=400)
    data = form.cleaned_data
    payload: dict[str, Any] = {}
    if isinstance(form, AnswerForm):
        payload["answer"] = data["answer"]
        payload["files"] = [
            services.UploadedDocument(filename=upload.name or "", content=upload.read())
            for upload in data["documents"]
        ]
    else:
        payload["note"] = data.get("note") or ""
    if data.get("version"):
        payload["expected_version"] = data["version"]
    actor = services.user_actor(
        user=signed_in_user(request),
        application=application,
        ip_address=_client_ip(request),
    )
    try:
        services.application_act(
            application=application, action=action, actor=actor, **payload
        )
    except InvalidApplication as error:
        for field, field_messages in error.errors.items():
            # The service names the files "files"; the form's field is "documents".
            name = "documents" if field == "files" else field
            for message in field_messages:
                form.add_error(name if name in form.fields else None, message)
        return _render_detail(request, application, bound={action: form}, status=400)
    except MarketplaceError as error:
        # Not allowed in this state or for this role, or the page was out of date.
        messages.error(request, error.message)
        return redirect("marketplace:my_application", reference=application.reference)
    messages.success(
        request,
        _("Done: %(action)s (%(reference)s).")
        % {"action": transition.label, "reference": application.reference},
    )
    return redirect("marketplace:my_application", reference=application.reference)


@login_required
@require_GET
def my_application_document(
    request: HttpRequest, reference: str, pk: int
) -> HttpResponse:
    """A document the enterprise sent with an answer: for its own members only
    (anyone else gets the 404 of an application that does not exist)."""
    application = _my_application(request, reference)
    document = selectors.application_document(application=application, pk=pk)
    if document is None:
        raise Http404(_("No such document."))
    response = HttpResponse(bytes(document.content), content_type=document.content_type)
    response["Content-Disposition"] = (
        content_disposition_header(True, document.filename) or "attachment"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the inbox (every signed-in user) ---------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first, unread ones marked; POST marks them
    all read."""
    user = signed_in_user(request)
    if request.method == "POST":
        count = services.notifications_mark_read(user=user)
        if count:
            messages.success(
                request,
                ngettext(
                    "%(count)s notification marked as read.",
                    "%(count)s notifications marked as read.",
                    count,
                )
                % {"count": count},
            )
        return redirect("marketplace:inbox")
    page = Paginator(selectors.inbox(user=user), INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    items = [
        {
            "notification": item,
            "sentence": notifications.event_sentence(item.event),
            "unread": item.read_at is None,
        }
        for item in page.object_list
    ]
    return render(request, "marketplace/inbox.html", {"page": page, "items": items})


def _application_url(user: User, application: Application) -> str:
    """The application's page on the user's side: the SME's page for the
    enterprise's members, the bank's for its staff; the inbox for anyone else (or
    while the bank's page does not exist)."""
    roles = services.application_roles(user=user, application=application)
    if roles & transitions.SME_ROLES:
        return reverse("marketplace:my_application", args=[application.reference])
    if roles & transitions.BANK_ROLES:
        try:
            return reverse(
                "marketplace:bank_application",
                kwargs={"reference": application.reference},
            )
        except NoReverseMatch:
            logger.warning("marketplace:bank_application is not routed")
    return reverse("marketplace:inbox")


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a notification (from the inbox or an email): mark it read and go to its
    application. Another user's notification is a 404."""
    user = signed_in_user(request)
    item = selectors.notification_for(user=user, pk=pk)
    if item is None:
        raise Http404(_("No such notification."))
    services.notifications_mark_read(user=user, pks=[item.pk])
    return redirect(_application_url(user, item.event.application))
