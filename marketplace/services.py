"""Writes of the marketplace: creating an application and every transition of it.

Every transition is one service (``application_accept``, ``application_approve``, …)
built on ``_transition``: it locks the application row, checks the actor's role and
the current state against ``marketplace.transitions.TRANSITIONS`` (and the version the
caller saw, when it sends one), applies the change, bumps ``version``, writes one
``ApplicationEvent`` (actor, organization, time, IP, note) and records its side effects
durably in the same transaction: the inbox items and their email job, and the bank's
webhook (both sent after commit). A transition that ends the review (a decision, a
withdrawal, an expiry) also ends the bank's consent for the application, so the
bank's next read of the applicant's records is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, OrganizationKind, Role, User
from accounts.selectors import platform_organization, user_memberships
from borrowers.models import CreditAuthorization, Enterprise
from borrowers.services import authorization_end
from core import jobs
from core.workdays import add_working_days
from lenders import webhooks
from lenders.models import LoanProduct
from marketplace import lock_objects, transitions
from marketplace.exceptions import (
    ActiveApplicationExists,
    IdempotencyKeyReused,
    InvalidApplication,
    NotPermitted,
    StaleVersion,
    TransitionNotAllowed,
)
from marketplace.models import (
    BANK_TURN_STATES,
    REVIEW_STATES,
    Application,
    ApplicationDocument,
    ApplicationEvent,
    ApplicationStatus,
    InformationRequest,
    Notification,
    ReferenceCounter,
    RejectionReason,
)
from scoring.models import CreditScore

#: Files an SME may send with an answer: what a bank can open, nothing executable.
DOCUMENT_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
}
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
DOCUMENTS_PER_ANSWER = 5
NOTE_MAX_CHARS = 2000


@dataclass(frozen=True)
class Actor:
    """Who takes a transition, as the history records it."""

    user: User | None
    organization: Organization | None
    roles: frozenset[str]
    ip_address: str | None = None
    channel: str = "web"
    #: Extra facts for the history (the API key's prefix, say).
    details: dict[str, Any] = field(default_factory=dict)


def application_roles(*, user: User | None, application: Application) -> frozenset[str]:
    """What ``user`` is to ``application`` (``transitions`` roles); empty for a stranger."""
    if user is None or not user.is_authenticated:
        return frozenset()
    roles: set[str] = set()
    for membership in user_memberships(user=user):
        organization = membership.organization
        if organization.pk == application.enterprise.organization_id:
            roles.add(
                transitions.SME_OWNER
                if membership.role == Role.OWNER
                else transitions.SME_MEMBER
            )
        elif organization.pk == application.lender.organization_id:
            if membership.role == Role.ADMIN:
                roles.add(transitions.BANK_ADMIN)
            elif membership.role == Role.REVIEWER:
                roles.add(transitions.BANK_REVIEWER)
        elif organization.kind == OrganizationKind.PLATFORM:
            roles.add(transitions.OPERATOR)
    return frozenset(roles)


def user_actor(
    *, user: User, application: Application, ip_address: str | None = None
) -> Actor:
    """The actor a signed-in person is for this application (in the web portal)."""
    roles = application_roles(user=user, application=application)
    organization = None
    if roles & transitions.SME_ROLES:
        organization = application.enterprise.organization
    elif roles & transitions.BANK_ROLES:
        organization = application.lender.organization
    elif transitions.OPERATOR in roles:
        organization = platform_organization()
    return Actor(
        user=user, organization=organization, roles=roles, ip_address=ip_address
    )


def api_actor(*, lender_organization: Organization, key_prefix: str, ip_address=None):
    """A bank's API key acts as the bank's administrators (``transitions``)."""
    return Actor(
        user=None,
        organization=lender_organization,
        roles=frozenset({transitions.BANK_ADMIN}),
        ip_address=ip_address,
        channel="api",
        details={"api_key": key_prefix},
    )


SYSTEM_ACTOR = Actor(
    user=None,
    organization=None,
    roles=frozenset({transitions.SYSTEM}),
    channel="system",
)


# --- creating an application -------------------------------------------------


def _next_reference(year: int) -> str:
    """``XYD-<year>-<number>``: the year's counter row, locked and incremented in the
    caller's transaction, so a number is never issued twice."""
    counter, _created = ReferenceCounter.objects.get_or_create(year=year)
    ReferenceCounter.objects.filter(pk=year).update(last=F("last") + 1)
    counter.refresh_from_db()
    return f"XYD-{year}-{counter.last:06d}"


def application_terms_errors(
    *, product: LoanProduct, amount: Any, term: Any, purpose: str
) -> dict[str, list[str]]:
    """What is wrong with an amount, term and purpose for ``product`` (field → messages)."""
    errors: dict[str, list[str]] = {}
    try:
        amount_value = Decimal(str(amount))
        if not amount_value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, TypeError, ValueError):
        errors["amount"] = [_("Enter an amount in yuan.")]
    else:
        if not product.amount_min <= amount_value <= product.amount_max:
            errors["amount"] = [
                _("This product lends between CNY %(low)s and CNY %(high)s.")
                % {
                    "low": f"{product.amount_min:,.2f}",
                    "high": f"{product.amount_max:,.2f}",
                }
            ]
        elif amount_value != amount_value.quantize(Decimal("0.01")):
            errors["amount"] = [_("At most two decimal places (fen).")]
    try:
        term_value = int(term)
        if str(term).strip() != str(term_value):
            raise ValueError
    except (TypeError, ValueError):
        errors["term"] = [_("Enter the term in whole months.")]
    else:
        if not product.term_min <= term_value <= product.term_max:
            errors["term"] = [
                _("This product lends for %(low)s to %(high)s months.")
                % {"low": product.term_min, "high": product.term_max}
            ]
    purpose = (purpose or "").strip()
    if not purpose:
        errors["purpose"] = [_("Say what the loan is for.")]
    elif len(purpose) > 500:
        errors["purpose"] = [_("At most 500 characters.")]
    return errors


def application_submit(
    *,
    enterprise: Enterprise,
    product: LoanProduct,
    amount: Decimal,
    term: int,
    purpose: str,
    idempotency_key: str,
    submitted_by: User,
    authorization: CreditAuthorization,
    score: CreditScore,
    ip_address: str | None = None,
    channel: str = "web",
) -> Application:
    """Create the application, submitted, with the score frozen on it.

    Runs inside the apply workflow's transaction (which granted ``authorization`` just
    before). The insert runs in a savepoint: a concurrent request that already created
    an application with the same idempotency key raises ``IdempotencyKeyReused`` (the
    workflow returns that one), an active application to the same product raises
    ``ActiveApplicationExists``. Both are the database's unique constraints speaking,
    so no race between two requests can get past them."""
    now = timezone.now()
    application = Application(
        enterprise=enterprise,
        product=product,
        product_version=product.versions.filter(
            version=product.current_version
        ).first(),
        lender=product.lender,
        district=enterprise.district,
        requested_amount=amount,
        requested_term=term,
        purpose=purpose.strip(),
        status=ApplicationStatus.SUBMITTED,
        version=1,
        idempotency_key=idempotency_key,
        submitted_by=submitted_by,
        submitted_at=now,
        authorization=authorization,
        score=score,
        snapshot_model_version=score.model_version.version,
        snapshot_score=score.score,
        snapshot_pd=score.pd,
        snapshot_grade=score.grade,
        snapshot_as_of=score.as_of,
        snapshot_reasons=score.explained_reasons,
        snapshot_features=score.features,
        due_at=add_working_days(now, product.response_days),
    )
    try:
        with transaction.atomic():
            application.reference = _next_reference(timezone.localdate(now).year)
            application.save()
    except IntegrityError as error:
        text = str(error)
        if (
            "idempotency" in text
            or Application.objects.filter(
                enterprise=enterprise, idempotency_key=idempotency_key
            ).exists()
        ):
            raise IdempotencyKeyReused(_("This request was already made.")) from None
        raise ActiveApplicationExists(
            _("You already have an application for this product in progress."),
            field="product",
        ) from None
    event = ApplicationEvent.objects.create(
        application=application,
        action="submit",
        from_status=ApplicationStatus.DRAFT,
        to_status=ApplicationStatus.SUBMITTED,
        version=1,
        actor=submitted_by,
        organization=enterprise.organization,
        ip_address=ip_address,
        channel=channel,
        created_at=now,
    )
    _side_effects(application=application, event=event, transition=None)
    return application


# --- transitions -------------------------------------------------------------


def _note(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > NOTE_MAX_CHARS:
        raise InvalidApplication(
            {"note": [_("At most %(count)s characters.") % {"count": NOTE_MAX_CHARS}]}
        )
    return text


@transaction.atomic
def _transition(
    *,
    application: Application,
    action: str,
    actor: Actor,
    note: str = "",
    expected_version: int | None = None,
    change: Callable[[Application], dict[str, Any] | None] | None = None,
) -> Application:
    """The guarded transition every service below is: lock, check, change, record."""
    transition = transitions.TRANSITIONS[action]
    locked = lock_objects.application_lock(application_pk=application.pk)
    if not actor.roles & transition.roles:
        raise NotPermitted(
            _("You may not “%(action)s” on this application.")
            % {"action": transition.label}
        )
    if locked.status not in transition.sources:
        raise TransitionNotAllowed(
            _("“%(action)s” is not possible for an application that is “%(status)s”.")
            % {"action": transition.label, "status": locked.get_status_display()}
        )
    if expected_version is not None and expected_version != locked.version:
        raise StaleVersion(
            _(
                "The application changed since you loaded it (version %(seen)s, now "
                "%(now)s); reload it and try again."
            )
            % {"seen": expected_version, "now": locked.version},
            field="version",
        )
    note = _note(note)
    if transitions.NEEDS_NOTE in transition.needs and not note:
        raise InvalidApplication({"note": [_("Write a note for the other side.")]})
    now = timezone.now()
    previous = locked.status
    data = (change(locked) if change else None) or {}
    locked.status = transition.target
    locked.version += 1
    if action in transitions.DECISIONS:
        locked.decided_at, locked.decided_by = now, actor.user
        if note:
            locked.decision_note = note
    _move_clock(locked, previous=previous, now=now)
    locked.save()
    event = ApplicationEvent.objects.create(
        application=locked,
        action=action,
        from_status=previous,
        to_status=locked.status,
        version=locked.version,
        actor=actor.user,
        organization=actor.organization,
        ip_address=actor.ip_address,
        channel=actor.channel,
        note=note,
        data={**actor.details, **data},
        created_at=now,
    )
    if previous in REVIEW_STATES and locked.status not in REVIEW_STATES:
        _end_consent(locked, action=action)
    _side_effects(application=locked, event=event, transition=transition)
    return locked


def _move_clock(application: Application, *, previous: str, now: dt.datetime) -> None:
    """Whose deadline runs: the bank's promised response time runs from submission to
    decision, stops while the SME is asked for information and resumes (with the
    time left) when the SME answers; nobody's runs after a decision."""
    status = application.status
    if status == ApplicationStatus.INFO_REQUESTED and application.due_at:
        application.paused_remaining = max(application.due_at - now, dt.timedelta(0))
        application.due_at = None
    elif previous == ApplicationStatus.INFO_REQUESTED:
        # Resumed only when the bank's turn comes back (the SME answered), not when
        # the SME withdraws instead.
        application.due_at = (
            now + (application.paused_remaining or dt.timedelta(0))
            if status in BANK_TURN_STATES
            else None
        )
        application.paused_remaining = None
    elif (
        status == ApplicationStatus.SUBMITTED
        and previous == ApplicationStatus.ESCALATED
    ):
        # Sent back to the bank by the office: a fresh promised response time.
        application.due_at = add_working_days(now, application.product.response_days)
    elif status not in BANK_TURN_STATES:
        application.due_at = None


def _end_consent(application: Application, *, action: str) -> None:
    if application.authorization_id is None:
        return
    authorization_end(
        authorization_pk=application.authorization_id,
        reason=_("Application %(reference)s: %(action)s")
        % {
            "reference": application.reference,
            "action": transitions.TRANSITIONS[action].label,
        },
    )


def _side_effects(
    *,
    application: Application,
    event: ApplicationEvent,
    transition: transitions.Transition | None,
) -> None:
    """Inbox items for who acts next, their email job, the bank's webhook: all written
    in this transaction, sent after commit."""
    from marketplace import notifications
    from marketplace.tasks import email_notifications

    recipients = notifications.recipients_for(application=application, event=event)
    Notification.objects.bulk_create(
        (Notification(recipient_id=pk, event=event) for pk in recipients),
        ignore_conflicts=True,
    )
    if recipients:
        jobs.enqueue(email_notifications, event.pk)
    event_type = transition.event_type if transition else "application.submitted"
    webhooks.event_emit(
        lender=application.lender,
        event_type=event_type,
        data=webhook_payload(application=application, event=event),
    )


def webhook_payload(*, application: Application, event: ApplicationEvent) -> dict:
    """What a bank's webhook says about an event: enough to route it; the bank reads
    the rest through the API, where the consent is checked on every read."""
    return {
        "application": application.reference,
        "product": application.product.code,
        "status": application.status,
        "previous_status": event.from_status,
        "action": event.action,
        "version": event.version,
        "occurred_at": event.created_at.isoformat(),
        "due_at": application.due_at.isoformat() if application.due_at else None,
    }


def application_accept(*, application: Application, actor: Actor, **kw) -> Application:
    return _transition(application=application, action="accept", actor=actor, **kw)


def application_start_review(
    *, application: Application, actor: Actor, **kw
) -> Application:
    return _transition(
        application=application, action="start_review", actor=actor, **kw
    )


def application_request_info(
    *, application: Application, actor: Actor, question: str, **kw
) -> Application:
    question = (question or "").strip()
    if not question:
        raise InvalidApplication({"question": [_("Say what you need from the SME.")]})
    if len(question) > 2000:
        raise InvalidApplication({"question": [_("At most 2000 characters.")]})

    def change(locked: Application) -> dict:
        request = InformationRequest.objects.create(
            application=locked, question=question, requested_by=actor.user
        )
        return {"information_request": request.pk, "question": question}

    return _transition(
        application=application,
        action="request_info",
        actor=actor,
        change=change,
        **kw,
    )


@dataclass(frozen=True)
class UploadedDocument:
    filename: str
    content: bytes


def document_content_type(content: bytes) -> str | None:
    """The type a file really is, from its first bytes (not its name)."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _check_documents(
    files: Sequence[UploadedDocument],
) -> list[tuple[UploadedDocument, str]]:
    if len(files) > DOCUMENTS_PER_ANSWER:
        raise InvalidApplication(
            {"files": [_("At most %(count)s files.") % {"count": DOCUMENTS_PER_ANSWER}]}
        )
    checked = []
    for upload in files:
        if len(upload.content) > DOCUMENT_MAX_BYTES:
            raise InvalidApplication(
                {
                    "files": [
                        _("%(name)s is larger than 10 MB.") % {"name": upload.filename}
                    ]
                }
            )
        content_type = document_content_type(upload.content)
        if content_type is None:
            raise InvalidApplication(
                {
                    "files": [
                        _("%(name)s is not a PDF, JPEG or PNG file.")
                        % {"name": upload.filename}
                    ]
                }
            )
        checked.append((upload, content_type))
    return checked


def application_answer_info(
    *,
    application: Application,
    actor: Actor,
    answer: str,
    files: Sequence[UploadedDocument] = (),
    **kw,
) -> Application:
    answer = (answer or "").strip()
    if not answer:
        raise InvalidApplication({"answer": [_("Write your answer to the bank.")]})
    if len(answer) > 4000:
        raise InvalidApplication({"answer": [_("At most 4000 characters.")]})
    checked = _check_documents(files)

    def change(locked: Application) -> dict:
        request = (
            locked.information_requests.filter(answered_at__isnull=True)
            .order_by("-created_at", "-pk")
            .first()
        )
        if request is None:  # pragma: no cover - info_requested always has one
            raise TransitionNotAllowed(_("There is no open question to answer."))
        request.answer, request.answered_by = answer, actor.user
        request.answered_at = timezone.now()
        request.save(
            update_fields=["answer", "answered_by", "answered_at", "updated_at"]
        )
        ApplicationDocument.objects.bulk_create(
            ApplicationDocument(
                information_request=request,
                filename=_safe_filename(upload.filename, content_type),
                content_type=content_type,
                size=len(upload.content),
                content=upload.content,
                uploaded_by=actor.user,
            )
            for upload, content_type in checked
        )
        return {"information_request": request.pk, "documents": len(checked)}

    return _transition(
        application=application, action="answer_info", actor=actor, change=change, **kw
    )


def _safe_filename(filename: str, content_type: str) -> str:
    import os
    import re

    stem = os.path.splitext(os.path.basename(filename or ""))[0]
    stem = re.sub(r"[^\w\-. ]", "_", stem).strip(" .")[:150] or "document"
    return stem + DOCUMENT_TYPES[content_type]


def offer_errors(
    *, product: LoanProduct, amount: Any, rate: Any, term: Any
) -> dict[str, list[str]]:
    """What is wrong with approved (or offered) terms: each within the product's range."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Decimal] = {}
    for name, raw in (("amount", amount), ("rate", rate), ("term", term)):
        try:
            value = Decimal(str(raw))
            if not value.is_finite():
                raise InvalidOperation
            values[name] = value
        except (InvalidOperation, TypeError, ValueError):
            errors[name] = [_("Enter a number.")]
    ranges = {
        "amount": (
            product.amount_min,
            product.amount_max,
            _("CNY %(low)s to %(high)s"),
        ),
        "rate": (
            product.rate_min,
            product.rate_max,
            _("%(low)s%% to %(high)s%% a year"),
        ),
        "term": (
            Decimal(product.term_min),
            Decimal(product.term_max),
            _("%(low)s to %(high)s months"),
        ),
    }
    for name, value in values.items():
        low, high, text = ranges[name]
        if not low <= value <= high:
            shown = {
                "low": f"{low:,.2f}" if name == "amount" else f"{low:g}",
                "high": f"{high:,.2f}" if name == "amount" else f"{high:g}",
            }
            errors[name] = [
                _("Outside this product's range (%(range)s).") % {"range": text % shown}
            ]
        elif name == "term" and value != value.to_integral_value():
            errors[name] = [_("Enter the term in whole months.")]
        elif name != "term" and value != value.quantize(Decimal("0.01")):
            errors[name] = [_("At most two decimal places.")]
    return errors


def _offer(
    *,
    application: Application,
    actor: Actor,
    action: str,
    amount: Any,
    rate: Any,
    term: Any,
    **kw,
) -> Application:
    errors = offer_errors(
        product=application.product, amount=amount, rate=rate, term=term
    )
    if errors:
        raise InvalidApplication(errors)

    def change(locked: Application) -> dict:
        locked.offered_amount = Decimal(str(amount)).quantize(Decimal("0.01"))
        locked.offered_rate = Decimal(str(rate)).quantize(Decimal("0.01"))
        locked.offered_term = int(Decimal(str(term)))
        return {
            "amount": str(locked.offered_amount),
            "rate": str(locked.offered_rate),
            "term": locked.offered_term,
        }

    return _transition(
        application=application, action=action, actor=actor, change=change, **kw
    )


def application_approve(*, application: Application, actor: Actor, **kw) -> Application:
    return _offer(application=application, actor=actor, action="approve", **kw)


def application_counter_offer(
    *, application: Application, actor: Actor, **kw
) -> Application:
    return _offer(application=application, actor=actor, action="counter_offer", **kw)


def application_reject(
    *,
    application: Application,
    actor: Actor,
    reasons: Iterable[str],
    note: str = "",
    **kw,
) -> Application:
    codes = sorted(set(reasons or ()))
    if not codes:
        raise InvalidApplication({"reasons": [_("Choose at least one reason.")]})
    unknown = sorted(set(codes) - set(RejectionReason.values))
    if unknown:
        raise InvalidApplication(
            {
                "reasons": [
                    _("Unknown reasons: %(codes)s.") % {"codes": ", ".join(unknown)}
                ]
            }
        )
    if not (note or "").strip():
        raise InvalidApplication(
            {"note": [_("Explain the decision to the applicant in a note.")]}
        )

    def change(locked: Application) -> dict:
        locked.rejection_reasons = codes
        return {"reasons": codes}

    return _transition(
        application=application,
        action="reject",
        actor=actor,
        note=note,
        change=change,
        **kw,
    )


def application_accept_offer(
    *, application: Application, actor: Actor, **kw
) -> Application:
    return _transition(
        application=application, action="accept_offer", actor=actor, **kw
    )


def application_decline_offer(
    *, application: Application, actor: Actor, **kw
) -> Application:
    return _transition(
        application=application, action="decline_offer", actor=actor, **kw
    )


def _date(value: Any, field_name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise InvalidApplication(
            {field_name: [_("Enter a date as YYYY-MM-DD.")]}
        ) from None


def application_disburse(
    *, application: Application, actor: Actor, amount: Any, disbursed_on: Any, **kw
) -> Application:
    on = _date(disbursed_on, "disbursed_on")
    try:
        value = Decimal(str(amount))
        if not value.is_finite() or value <= 0:
            raise InvalidOperation
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidApplication(
            {"amount": [_("Enter the amount paid out.")]}
        ) from None
    today = timezone.localdate()

    def change(locked: Application) -> dict:
        errors: dict[str, list[str]] = {}
        if locked.offered_amount is not None and value > locked.offered_amount:
            errors["amount"] = [
                _("More than the CNY %(approved)s approved.")
                % {"approved": f"{locked.offered_amount:,.2f}"}
            ]
        if on > today:
            errors["disbursed_on"] = [_("The date is in the future.")]
        elif locked.decided_at and on < timezone.localdate(locked.decided_at):
            errors["disbursed_on"] = [_("The date is before the approval.")]
        if errors:
            raise InvalidApplication(errors)
        locked.disbursed_amount = value.quantize(Decimal("0.01"))
        locked.disbursed_on = on
        return {"amount": str(locked.disbursed_amount), "disbursed_on": on.isoformat()}

    return _transition(
        application=application, action="disburse", actor=actor, change=change, **kw
    )


def application_report_repaid(
    *, application: Application, actor: Actor, repaid_on: Any, **kw
) -> Application:
    on = _date(repaid_on, "repaid_on")

    def change(locked: Application) -> dict:
        if on > timezone.localdate():
            raise InvalidApplication({"repaid_on": [_("The date is in the future.")]})
        if locked.disbursed_on and on < locked.disbursed_on:
            raise InvalidApplication(
                {"repaid_on": [_("The date is before the disbursement.")]}
            )
        locked.repaid_on = on
        locked.outcome_reported_on = timezone.localdate()
        return {"repaid_on": on.isoformat()}

    return _transition(
        application=application,
        action="report_repaid",
        actor=actor,
        change=change,
        **kw,
    )


def application_report_overdue(
    *, application: Application, actor: Actor, days_past_due: Any, **kw
) -> Application:
    try:
        days = int(str(days_past_due))
        if days < 1 or days > 3650:
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidApplication(
            {"days_past_due": [_("Enter the days past due (1 to 3650).")]}
        ) from None

    def change(locked: Application) -> dict:
        locked.days_past_due = days
        locked.outcome_reported_on = timezone.localdate()
        return {"days_past_due": days}

    return _transition(
        application=application,
        action="report_overdue",
        actor=actor,
        change=change,
        **kw,
    )


def application_withdraw(
    *, application: Application, actor: Actor, **kw
) -> Application:
    return _transition(application=application, action="withdraw", actor=actor, **kw)


def application_escalate(*, application: Application, **kw) -> Application:
    return _transition(
        application=application, action="escalate", actor=SYSTEM_ACTOR, **kw
    )


def application_reroute(*, application: Application, actor: Actor, **kw) -> Application:
    return _transition(application=application, action="reroute", actor=actor, **kw)


def application_expire(*, application: Application, **kw) -> Application:
    return _transition(
        application=application, action="expire", actor=SYSTEM_ACTOR, **kw
    )


#: Each action's service, for the views and the API that dispatch on the action name.
SERVICES: dict[str, Callable[..., Application]] = {
    "accept": application_accept,
    "start_review": application_start_review,
    "request_info": application_request_info,
    "answer_info": application_answer_info,
    "approve": application_approve,
    "counter_offer": application_counter_offer,
    "reject": application_reject,
    "accept_offer": application_accept_offer,
    "decline_offer": application_decline_offer,
    "disburse": application_disburse,
    "report_repaid": application_report_repaid,
    "report_overdue": application_report_overdue,
    "withdraw": application_withdraw,
    "reroute": application_reroute,
}


@transaction.atomic
def application_act(
    *, application: Application, action: str, actor: Actor, **payload: Any
) -> Application:
    """Take ``action`` (a name from the table) with its payload; the views' and the
    API's single entry. An unknown or system-only action is refused."""
    service = SERVICES.get(action)
    if service is None:
        raise TransitionNotAllowed(
            _("Unknown action “%(action)s”.") % {"action": action},
            code="unknown_action",
        )
    return service(application=application, actor=actor, **payload)


def notifications_mark_read(*, user: User, pks: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all, or those of ``pks``); returns how many."""
    queryset = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if pks is not None:
        queryset = queryset.filter(pk__in=list(pks))
    return queryset.update(read_at=timezone.now())


def notification_mark_emailed(*, pks: Iterable[int]) -> int:
    return Notification.objects.filter(
        pk__in=list(pks), emailed_at__isnull=True
    ).update(emailed_at=timezone.now())
