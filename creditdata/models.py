"""Normalized public credit records, one table per category, and their ingestion.

Every record keeps where it came from (``source``, ``source_id``) and when
(``fetched_at``); ``(enterprise, source, source_id)`` is unique, so a re-run pull or a
redelivered task updates rows in place and never duplicates one. The key includes the
enterprise because the provider promises its record ids unique only per enterprise:
one enterprise's pull can never rewrite another's row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from borrowers.models import CreditAuthorization, Enterprise
from core.fields import RECORD_MONEY_MAX_DIGITS, money_field
from core.models import TimeStampedModel
from creditdata.categories import (
    DISTRICTS,
    INDUSTRIES,
    AdministrativeType,
    Category,
    CommitmentStatus,
    CourtRecordType,
    HonourLevel,
    IntellectualPropertyStatus,
    IntellectualPropertyType,
    PenaltySeverity,
    RegistrationStatus,
    TaxCreditGrade,
    UtilityType,
)
from creditdata.quality import FindingRule, describe

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return money_field(verbose_name, max_digits=RECORD_MONEY_MAX_DIGITS, **kwargs)


class IngestionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed (some categories)")
    CANCELLED = "cancelled", _("Cancelled (consent revoked or expired)")


class IngestionRun(TimeStampedModel):
    """One pull of an enterprise's consented categories from the provider."""

    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="ingestion_runs",
        verbose_name=_("enterprise"),
    )
    authorization = models.ForeignKey(
        CreditAuthorization,
        on_delete=models.PROTECT,
        related_name="ingestion_runs",
        verbose_name=_("authorization"),
    )
    categories = models.JSONField(_("categories"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=IngestionStatus.choices,
        default=IngestionStatus.PENDING,
    )
    requested_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    records_written = models.PositiveIntegerField(_("records written"), default=0)
    category_results = models.JSONField(
        _("result per category"), default=dict, blank=True
    )
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("ingestion run")
        verbose_name_plural = _("ingestion runs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["enterprise", "status"])]

    def __str__(self) -> str:
        return f"{self.enterprise} · {self.get_status_display()} · {self.created_at:%Y-%m-%d %H:%M}"


class PublicCreditRecord(models.Model):
    """Fields every record has, whatever its category."""

    CATEGORY: str = ""

    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("enterprise"),
    )
    source = models.CharField(_("source"), max_length=50)
    source_id = models.CharField(_("source id"), max_length=100)
    fetched_at = models.DateTimeField(_("fetched at"), default=timezone.now)
    ingestion_run = models.ForeignKey(
        IngestionRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.CATEGORY} {self.source}:{self.source_id}"


def _record_meta(
    name: str, verbose: StrOrPromise, verbose_plural: StrOrPromise, order: list[str]
) -> type[Any]:
    """A record table's ``Meta``: each category's table has the same uniqueness and
    index, named after it. Built with ``type()``, so it is typed as any class."""
    return type(
        "Meta",
        (),
        {
            "verbose_name": verbose,
            "verbose_name_plural": verbose_plural,
            "ordering": order,
            "constraints": [
                models.UniqueConstraint(
                    fields=["enterprise", "source", "source_id"],
                    name=f"creditdata_{name}_enterprise_source_unique",
                )
            ],
            "indexes": [
                models.Index(fields=["enterprise", *order], name=f"cd_{name[:20]}_ent")
            ],
        },
    )


class RegistrationRecord(PublicCreditRecord):
    CATEGORY = Category.REGISTRATION
    name = models.CharField(_("name"), max_length=200)
    legal_representative = models.CharField(_("legal representative"), max_length=100)
    registered_capital = _money(_("registered capital"))
    founded_on = models.DateField(_("founded on"))
    industry = models.CharField(
        _("industry"), max_length=1, choices=list(INDUSTRIES.items())
    )
    district = models.CharField(
        _("district"), max_length=6, choices=list(DISTRICTS.items())
    )
    status = models.CharField(
        _("status"), max_length=20, choices=RegistrationStatus.choices
    )
    address = models.CharField(_("address"), max_length=300, blank=True, null=True)

    Meta = _record_meta(
        "registration",
        _("registration record"),
        _("registration records"),
        ["founded_on"],
    )


class TaxRecord(PublicCreditRecord):
    CATEGORY = Category.TAX
    period = models.DateField(_("month"))
    tax_paid = _money(_("tax paid"))
    arrears = _money(_("tax arrears"))
    credit_grade = models.CharField(
        _("tax credit grade"),
        max_length=1,
        choices=TaxCreditGrade.choices,
        null=True,
        blank=True,
    )

    Meta = _record_meta("tax", _("tax record"), _("tax records"), ["period"])


class SocialInsuranceRecord(PublicCreditRecord):
    CATEGORY = Category.SOCIAL_INSURANCE
    period = models.DateField(_("month"))
    headcount = models.IntegerField(_("insured headcount"))
    arrears = _money(_("arrears"))

    Meta = _record_meta(
        "socialinsurance",
        _("social insurance record"),
        _("social insurance records"),
        ["period"],
    )


class HousingFundRecord(PublicCreditRecord):
    CATEGORY = Category.HOUSING_FUND
    period = models.DateField(_("month"))
    contributors = models.IntegerField(_("contributors"))
    amount_paid = _money(_("amount paid"))
    paid_on_time = models.BooleanField(_("paid on time"))

    Meta = _record_meta(
        "housingfund", _("housing fund record"), _("housing fund records"), ["period"]
    )


class UtilityRecord(PublicCreditRecord):
    CATEGORY = Category.UTILITIES
    period = models.DateField(_("month"))
    utility = models.CharField(_("utility"), max_length=20, choices=UtilityType.choices)
    usage = models.DecimalField(_("usage"), max_digits=18, decimal_places=2)
    amount = _money(_("amount billed"))
    arrears = _money(_("arrears"))

    Meta = _record_meta(
        "utility", _("utility record"), _("utility records"), ["period", "utility"]
    )


class CustomsRecord(PublicCreditRecord):
    CATEGORY = Category.CUSTOMS
    period = models.DateField(_("month"))
    imports = _money(_("imports"))
    exports = _money(_("exports"))

    Meta = _record_meta(
        "customs", _("customs record"), _("customs records"), ["period"]
    )


class IntellectualPropertyRecord(PublicCreditRecord):
    CATEGORY = Category.INTELLECTUAL_PROPERTY
    ip_type = models.CharField(
        _("type"), max_length=30, choices=IntellectualPropertyType.choices
    )
    number = models.CharField(_("number"), max_length=64)
    title = models.CharField(pgettext_lazy("credit record", "title"), max_length=200)
    granted_on = models.DateField(_("granted on"))
    status = models.CharField(
        _("status"), max_length=20, choices=IntellectualPropertyStatus.choices
    )

    Meta = _record_meta(
        "ip",
        _("intellectual property record"),
        _("intellectual property records"),
        ["granted_on"],
    )


class AdministrativeRecord(PublicCreditRecord):
    """双公示: administrative licences and penalties."""

    CATEGORY = Category.ADMINISTRATIVE
    record_type = models.CharField(
        _("type"), max_length=20, choices=AdministrativeType.choices
    )
    decision_number = models.CharField(_("decision number"), max_length=100)
    authority = models.CharField(_("authority"), max_length=200)
    decided_on = models.DateField(_("decided on"))
    amount = _money(_("amount"), null=True, blank=True)
    severity = models.CharField(
        _("severity"),
        max_length=20,
        choices=PenaltySeverity.choices,
        null=True,
        blank=True,
    )
    repaired = models.BooleanField(_("credit repaired"))
    repaired_on = models.DateField(_("repaired on"), null=True, blank=True)
    description = models.CharField(
        _("description"), max_length=1000, null=True, blank=True
    )

    Meta = _record_meta(
        "administrative",
        _("administrative record"),
        _("administrative records"),
        ["decided_on"],
    )


class CourtRecord(PublicCreditRecord):
    CATEGORY = Category.COURT
    record_type = models.CharField(
        _("type"), max_length=20, choices=CourtRecordType.choices
    )
    case_number = models.CharField(_("case number"), max_length=100)
    court = models.CharField(_("court"), max_length=200)
    filed_on = models.DateField(_("filed on"))
    amount = _money(_("amount"))
    dishonest_debtor = models.BooleanField(
        _("dishonest judgement debtor (失信被执行人)")
    )
    concluded_on = models.DateField(_("concluded on"), null=True, blank=True)

    Meta = _record_meta("court", _("court record"), _("court records"), ["filed_on"])


class AbnormalOperationRecord(PublicCreditRecord):
    CATEGORY = Category.ABNORMAL_OPERATION
    listed_on = models.DateField(_("listed on"))
    reason = models.CharField(_("reason"), max_length=500)
    authority = models.CharField(_("authority"), max_length=200)
    removed_on = models.DateField(_("removed on"), null=True, blank=True)

    Meta = _record_meta(
        "abnormal",
        _("abnormal-operation record"),
        _("abnormal-operation records"),
        ["listed_on"],
    )


class HonourRecord(PublicCreditRecord):
    CATEGORY = Category.HONOURS
    title = models.CharField(pgettext_lazy("credit record", "title"), max_length=200)
    authority = models.CharField(_("authority"), max_length=200)
    awarded_on = models.DateField(_("awarded on"))
    level = models.CharField(_("level"), max_length=20, choices=HonourLevel.choices)

    Meta = _record_meta(
        "honour", _("honour record"), _("honour records"), ["awarded_on"]
    )


class CreditCommitmentRecord(PublicCreditRecord):
    CATEGORY = Category.CREDIT_COMMITMENTS
    commitment_type = models.CharField(_("commitment type"), max_length=100)
    authority = models.CharField(_("authority"), max_length=200)
    made_on = models.DateField(_("made on"))
    status = models.CharField(
        _("status"), max_length=20, choices=CommitmentStatus.choices
    )

    Meta = _record_meta(
        "commitment",
        _("credit commitment record"),
        _("credit commitment records"),
        ["made_on"],
    )


#: The table of each category.
RECORD_MODELS: dict[str, type[PublicCreditRecord]] = {
    model.CATEGORY: model
    for model in (
        RegistrationRecord,
        TaxRecord,
        SocialInsuranceRecord,
        HousingFundRecord,
        UtilityRecord,
        CustomsRecord,
        IntellectualPropertyRecord,
        AdministrativeRecord,
        CourtRecord,
        AbnormalOperationRecord,
        HonourRecord,
        CreditCommitmentRecord,
    )
}


class FindingSeverity(models.TextChoices):
    WARNING = "warning", _("Warning")
    ERROR = "error", _("Error")


class DataQualityFinding(TimeStampedModel):
    """A data-quality rule that failed on an enterprise's records of one category.

    Findings are recomputed at each pull of the category: the current set replaces the
    previous one, so the operator sees the state of the data as stored now.
    """

    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.CASCADE,
        related_name="data_quality_findings",
        verbose_name=_("enterprise"),
    )
    ingestion_run = models.ForeignKey(
        IngestionRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="findings",
    )
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    rule = models.CharField(_("rule"), max_length=50, choices=FindingRule.choices)
    severity = models.CharField(
        _("severity"), max_length=10, choices=FindingSeverity.choices
    )
    message = models.CharField(_("message"), max_length=500)
    #: The finding's codes and dates, shown translated (``quality.describe``).
    params = models.JSONField(_("details"), default=dict, blank=True)
    source_ids = models.JSONField(_("records concerned"), default=list)

    class Meta:
        verbose_name = _("data-quality finding")
        verbose_name_plural = _("data-quality findings")
        ordering = ["-created_at", "category", "rule"]
        indexes = [
            models.Index(fields=["enterprise", "category"]),
            models.Index(fields=["rule"]),
        ]

    @property
    def description(self) -> str:
        """The finding in the page's language (``quality.describe``)."""
        return describe(self.category, self.rule, self.params, self.message)

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


class ProviderWebhookEvent(models.Model):
    """A webhook event received from the provider; the unique id rejects replays."""

    event_id = models.CharField(_("event id"), max_length=100, unique=True)
    event_type = models.CharField(_("type"), max_length=50)
    payload = models.JSONField(_("payload"))
    signed_at = models.DateTimeField(_("signed at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    runs_started = models.PositiveIntegerField(_("pulls started"), default=0)

    class Meta:
        verbose_name = _("provider webhook event")
        verbose_name_plural = _("provider webhook events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
