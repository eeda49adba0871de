"""Loan applications, their history, the bank's requests for information, decisions,
outcomes and the in-app notifications they cause.

An ``Application`` moves through the states of ``ApplicationStatus`` only by the
transitions of ``marketplace.transitions`` (the single table), each one a service in
``marketplace.services`` that locks the row, checks the table, bumps ``version`` and
writes one ``ApplicationEvent``. The score the SME applied with is copied onto the
application at submit time and never changes, whatever model is promoted later. At most
one *active* application per (enterprise, product) is a partial unique constraint, so
two concurrent submits cannot both succeed whatever the code above does.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organization, User
from borrowers.models import CreditAuthorization, Enterprise
from core.codes import DISTRICTS
from core.fields import money_field, percent_field
from core.models import TimeStampedModel
from lenders.models import Lender, LoanProduct, LoanProductVersion
from scoring.models import CreditScore


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("application status", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("application status", "Submitted")
    ACCEPTED = "accepted", pgettext_lazy("application status", "Accepted by the bank")
    UNDER_REVIEW = "under_review", pgettext_lazy("application status", "Under review")
    INFO_REQUESTED = (
        "info_requested",
        pgettext_lazy("application status", "Information requested"),
    )
    APPROVED = "approved", pgettext_lazy("application status", "Approved")
    COUNTER_OFFERED = (
        "counter_offered",
        pgettext_lazy("application status", "Counter-offer made"),
    )
    DECLINED = "declined", pgettext_lazy("application status", "Offer declined")
    REJECTED = "rejected", pgettext_lazy("application status", "Rejected")
    DISBURSED = "disbursed", pgettext_lazy("application status", "Disbursed")
    REPAID = "repaid", pgettext_lazy("application status", "Repaid")
    OVERDUE = "overdue", pgettext_lazy("application status", "Overdue")
    WITHDRAWN = "withdrawn", pgettext_lazy("application status", "Withdrawn")
    ESCALATED = "escalated", pgettext_lazy("application status", "Escalated")
    EXPIRED = "expired", pgettext_lazy("application status", "Expired")


#: States after which nothing more happens to an application (it no longer blocks a
#: new application to the same product).
CLOSED_STATES: frozenset[str] = frozenset(
    {
        ApplicationStatus.DECLINED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.REPAID,
        ApplicationStatus.WITHDRAWN,
        ApplicationStatus.EXPIRED,
    }
)
#: States in which the bank reviews the application under its consent: the only ones
#: in which it sees the applicant's records. Any decision, the SME's withdrawal or an
#: expiry ends the review and, with it, the consent (on the very next read).
REVIEW_STATES: frozenset[str] = frozenset(
    {
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.UNDER_REVIEW,
        ApplicationStatus.INFO_REQUESTED,
        ApplicationStatus.ESCALATED,
    }
)
#: States whose review clock runs against the bank (``due_at`` is the bank's deadline).
BANK_TURN_STATES: frozenset[str] = frozenset(
    {
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.UNDER_REVIEW,
        ApplicationStatus.ESCALATED,
    }
)


class RejectionReason(models.TextChoices):
    """The fixed list a bank rejects with (at least one, plus a note): an SME is always
    told why, in its own language."""

    CREDIT_GRADE = "credit_grade", _("Credit grade below the product's requirement")
    OPERATING_HISTORY = "operating_history", _("Too short an operating history")
    TAX_RECORD = "tax_record", _("Tax credit grade or tax arrears")
    COURT_RECORD = "court_record", _("Court judgements or enforcement")
    PENALTIES = "penalties", _("Unrepaired administrative penalties")
    REPAYMENT_CAPACITY = (
        "repayment_capacity",
        _("Revenue does not support the amount requested"),
    )
    LEVERAGE = "leverage", _("Existing debt too high")
    INCOMPLETE_INFORMATION = (
        "incomplete_information",
        _("Information requested was not provided"),
    )
    OUTSIDE_POLICY = "outside_policy", _("Outside the bank's lending policy")
    OTHER = "other", pgettext_lazy("rejection reason", "Other (see the note)")


class OutcomeLabel(models.TextChoices):
    """The training label of a decided application (``build_outcome_dataset``)."""

    REPAID = "repaid", pgettext_lazy("loan outcome", "Repaid")
    OVERDUE = "overdue", pgettext_lazy("loan outcome", "Overdue")


class Application(TimeStampedModel):
    """One SME's application for one loan product."""

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("enterprise"),
    )
    product = models.ForeignKey(
        LoanProduct,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("loan product"),
    )
    #: The product's listed terms the SME applied under (the version at submit time).
    product_version = models.ForeignKey(
        LoanProductVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product terms applied under"),
    )
    # Copied from the product and the enterprise: the bank's queue filters on them.
    lender = models.ForeignKey(
        Lender,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("lender"),
    )
    district = models.CharField(_("district"), max_length=20, choices=DISTRICTS)
    requested_amount = money_field(_("amount requested (CNY)"))
    requested_term = models.PositiveIntegerField(
        _("term requested (months)"), validators=[MinValueValidator(1)]
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="CNY", editable=False
    )
    purpose = models.CharField(_("purpose of the loan"), max_length=500)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
    )
    #: Optimistic-lock counter: every transition adds one (and the API may send the
    #: version it saw; a stale one is refused).
    version = models.PositiveIntegerField(_("version"), default=1)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    submitted_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    #: The SME's separate consent to this bank, for this application's review.
    authorization = models.ForeignKey(
        CreditAuthorization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("consent to the bank"),
    )
    # The score the SME applied with, frozen (copied, not referenced only: the
    # bank reviews what the SME was scored at that moment, whatever happens later).
    score = models.ForeignKey(
        CreditScore,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("score at submission"),
    )
    snapshot_model_version = models.CharField(
        _("model version at submission"), max_length=40, blank=True
    )
    snapshot_score = models.FloatField(_("score at submission"), null=True, blank=True)
    snapshot_pd = models.FloatField(
        _("probability of default at submission"), null=True, blank=True
    )
    snapshot_grade = models.CharField(
        _("grade at submission"), max_length=1, blank=True
    )
    snapshot_as_of = models.DateField(_("score as of"), null=True, blank=True)
    snapshot_reasons = models.JSONField(
        _("reasons at submission"), default=list, blank=True
    )
    snapshot_features = models.JSONField(
        _("feature values at submission"), default=dict, blank=True
    )
    # The clock: whose turn it is and by when.
    due_at = models.DateTimeField(_("respond by"), null=True, blank=True)
    #: While the bank waits for the SME's information, the bank's clock stops; the
    #: time it had left is kept here and given back when the SME answers.
    paused_remaining = models.DurationField(
        _("time left when paused"), null=True, blank=True
    )
    # The decision.
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    offered_amount = money_field(_("amount offered (CNY)"), null=True, blank=True)
    offered_rate = percent_field(_("annual rate offered (%)"), null=True, blank=True)
    offered_term = models.PositiveIntegerField(
        _("term offered (months)"), null=True, blank=True
    )
    rejection_reasons = models.JSONField(
        _("reasons for rejection"), default=list, blank=True
    )
    decision_note = models.TextField(_("note to the applicant"), blank=True)
    # The outcome the bank reports.
    disbursed_amount = money_field(_("amount disbursed (CNY)"), null=True, blank=True)
    disbursed_on = models.DateField(_("disbursed on"), null=True, blank=True)
    repaid_on = models.DateField(_("repaid on"), null=True, blank=True)
    days_past_due = models.PositiveIntegerField(
        _("days past due"), null=True, blank=True
    )
    outcome_reported_on = models.DateField(
        _("outcome reported on"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("loan application")
        verbose_name_plural = _("loan applications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["lender", "status", "due_at"]),
            models.Index(fields=["enterprise", "-created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "product"],
                condition=~Q(status__in=sorted(CLOSED_STATES)),
                name="marketplace_one_active_application",
            ),
            models.UniqueConstraint(
                fields=["enterprise", "idempotency_key"],
                name="marketplace_application_idempotency",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ApplicationStatus.values),
                name="marketplace_application_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(requested_amount__gt=0),
                name="marketplace_application_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(requested_term__gte=1),
                name="marketplace_application_term_positive",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_amount__isnull=True)
                | Q(disbursed_amount__lte=F("offered_amount")),
                name="marketplace_disbursed_within_approval",
            ),
            models.CheckConstraint(
                condition=~Q(status=ApplicationStatus.REJECTED)
                | ~Q(rejection_reasons=[]),
                name="marketplace_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATES

    @property
    def in_review(self) -> bool:
        return self.status in REVIEW_STATES


class ReferenceCounter(models.Model):
    """The last application number issued in a year: references are
    ``XYD-<year>-<number>`` and a number is never issued twice (the row is locked and
    incremented in the transaction that creates the application)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("reference counter")
        verbose_name_plural = _("reference counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class ApplicationEvent(models.Model):
    """One transition of one application: append-only history, and what the
    notifications and the bank's webhooks are about."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(
        _("from"), max_length=20, choices=ApplicationStatus.choices, blank=True
    )
    to_status = models.CharField(
        _("to"), max_length=20, choices=ApplicationStatus.choices
    )
    #: The version the application had after this event.
    version = models.PositiveIntegerField(_("version"))
    actor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, default="web")
    note = models.TextField(pgettext_lazy("application history", "note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("application event")
        verbose_name_plural = _("application events")
        ordering = ["application", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "version"],
                name="marketplace_event_one_per_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}: {self.from_status} → {self.to_status}"


class InformationRequest(TimeStampedModel):
    """The bank asks the SME for more (a question, optionally documents); the SME
    answers in the portal with text and files."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="information_requests"
    )
    question = models.TextField(_("what the bank asks for"), max_length=2000)
    #: Empty when the bank asked through its API (the key is in the event's details).
    requested_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("asked by"),
    )
    answer = models.TextField(_("answer"), max_length=4000, blank=True)
    answered_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("information request")
        verbose_name_plural = _("information requests")
        ordering = ["application", "created_at", "pk"]


class ApplicationDocument(TimeStampedModel):
    """A file the SME sent with an answer. Served only to the SME's members and, while
    the consent is in force, to the bank reviewing the application."""

    information_request = models.ForeignKey(
        InformationRequest, on_delete=models.PROTECT, related_name="documents"
    )
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("file type"), max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    content = models.BinaryField(_("file"), editable=False)
    uploaded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )

    class Meta:
        verbose_name = _("application document")
        verbose_name_plural = _("application documents")
        ordering = ["information_request", "pk"]


class Notification(models.Model):
    """An item in a user's in-app inbox: one application event that asks them to act
    (or tells them of a decision). The text is rendered from the event in the reader's
    language at display time."""

    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(
        ApplicationEvent, on_delete=models.CASCADE, related_name="notifications"
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="marketplace_unread",
            ),
            models.Index(fields=["recipient", "-created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event"], name="marketplace_notify_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} · {self.event_id}"
