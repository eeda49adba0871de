"""Banks, their branches and staff roles, the loan-product catalogue, API keys and
webhooks.

A product moves draft → pending review → listed → delisted (``lenders.lifecycle`` is
the single transition table); only listed products are public. Every listing and
change to a listed product's terms stores a ``LoanProductVersion``, so an application
always shows the terms it was made under. A change to a listed product's reviewed terms
is first a ``LoanProductRevision`` the platform approves or returns; only the fields in
``lifecycle.REVIEW_EXEMPT_FIELDS`` apply at once. Ranges and upper bounds are database
constraints, so no code path can store an inverted, non-positive or absurd value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organization, User, localized
from core.codes import DISTRICTS, INDUSTRIES
from core.fields import EncryptedTextField, money_field, percent_field
from core.models import TimeStampedModel

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Lender(TimeStampedModel):
    """A bank (head office) on the platform."""

    organization = models.OneToOneField(
        Organization,
        on_delete=models.PROTECT,
        related_name="lender",
        verbose_name=_("organization"),
    )
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=50)
    licence_number = models.CharField(
        _("financial licence number"), max_length=50, blank=True
    )
    head_office_address = models.CharField(
        _("head office address"), max_length=300, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lender")
        verbose_name_plural = _("lenders")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.short_name or self.name

    @property
    def display_name(self) -> str:
        """The bank's name in the page's language: its organization's English name
        on English pages when it has one, the registered (Chinese) name otherwise.
        Read it with ``organization`` selected, or it costs a query."""
        return localized(self.name, self.organization.name_en)

    @property
    def display_short_name(self) -> str:
        """As ``display_name``, for the short name cards and filters show."""
        return localized(self.short_name or self.name, self.organization.name_en)


class Branch(TimeStampedModel):
    """A branch, serving a set of Shenzhen districts."""

    lender = models.ForeignKey(
        Lender,
        on_delete=models.CASCADE,
        related_name="branches",
        verbose_name=_("lender"),
    )
    name = models.CharField(_("name"), max_length=200)
    districts = models.JSONField(_("districts served"), default=list)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["lender", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["lender", "name"], name="lenders_branch_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = sorted(set(self.districts or []) - set(DISTRICTS))
        if unknown:
            raise ValidationError(
                {
                    "districts": _("Unknown district codes: %(codes)s.")
                    % {"codes": ", ".join(unknown)}
                }
            )


class ProductType(models.TextChoices):
    CREDIT = "credit", _("Credit loan")
    TAX_BASED = "tax_based", _("Tax-based loan (银税互动)")
    IP_PLEDGE = "ip_pledge", _("IP pledge loan")
    ORDER_FINANCING = "order_financing", _("Order financing")
    WAREHOUSE_RECEIPT = "warehouse_receipt", _("Warehouse-receipt financing")
    RECEIVABLES = "receivables", _("Receivables financing")
    GUARANTEE_BACKED = "guarantee_backed", _("Guarantee-backed loan")
    MORTGAGE = "mortgage", _("Mortgage loan")


class GuaranteeType(models.TextChoices):
    NONE = "none", _("No collateral (credit)")
    GUARANTEE = "guarantee", _("Guarantee")
    PLEDGE = "pledge", _("Pledge")
    MORTGAGE = "mortgage", _("Mortgage")
    MIXED = "mixed", _("Combined")


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALMENT = "equal_instalment", _("Equal instalments")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")
    INTEREST_FIRST = "interest_first", _("Interest monthly, principal at maturity")
    BULLET = "bullet", _("Principal and interest at maturity")
    FLEXIBLE = "flexible", _("Draw and repay at any time")


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_REVIEW = "pending_review", _("Pending review")
    LISTED = "listed", _("Listed")
    DELISTED = "delisted", _("Delisted")


#: Hard ceilings, written into the database as check constraints. The deployment's
#: own limits (``LOAN_PRODUCT_AMOUNT_MAX``, ``LOAN_RATE_CAP``) are settings, and a
#: setting cannot be a constraint's value: ``LoanProduct.clean`` checks the lower of
#: the setting and the ceiling, and the database refuses anything above the ceiling.
TERM_MAX_MONTHS = 360  # 30 years: the longest mortgage term banks offer
RESPONSE_DAYS_MAX = 60  # working days, about three months
YEARS_IN_BUSINESS_MAX = 50
AMOUNT_CEILING = Decimal("10000000000.00")  # CNY 10 billion, far above any SME loan
# Interest above 36 % a year is void under the Supreme People's Court's private
# lending rules: no product may advertise it, whatever LOAN_RATE_CAP says.
RATE_CEILING = Decimal("36.00")


def amount_cap() -> Decimal:
    """The highest amount a product may offer: the setting, never above the ceiling."""
    from django.conf import settings

    return min(Decimal(settings.LOAN_PRODUCT_AMOUNT_MAX), AMOUNT_CEILING)


def rate_cap() -> Decimal:
    """The highest annual rate a product may advertise (setting, under the ceiling)."""
    from django.conf import settings

    return min(Decimal(settings.LOAN_RATE_CAP), RATE_CEILING)


GRADE_CHOICES = [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D")]
TAX_GRADE_CHOICES = [("A", "A"), ("B", "B"), ("M", "M"), ("C", "C"), ("D", "D")]


class LoanProduct(TimeStampedModel):
    lender = models.ForeignKey(
        Lender,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("lender"),
    )
    code = models.SlugField(_("product code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    description = models.TextField(_("description"), max_length=4000, blank=True)
    description_en = models.TextField(
        _("English description"), max_length=4000, blank=True
    )
    product_type = models.CharField(
        _("product type"), max_length=30, choices=ProductType.choices
    )
    guarantee_type = models.CharField(
        _("guarantee"), max_length=20, choices=GuaranteeType.choices
    )
    amount_min = money_field(_("minimum amount (CNY)"))
    amount_max = money_field(_("maximum amount (CNY)"))
    currency = models.CharField(
        _("currency"), max_length=3, default="CNY", editable=False
    )
    term_min = models.PositiveIntegerField(
        _("minimum term (months)"),
        validators=[MinValueValidator(1), MaxValueValidator(TERM_MAX_MONTHS)],
    )
    term_max = models.PositiveIntegerField(
        _("maximum term (months)"),
        validators=[MinValueValidator(1), MaxValueValidator(TERM_MAX_MONTHS)],
    )
    rate_min = percent_field(_("minimum annual rate (%)"))
    rate_max = percent_field(_("maximum annual rate (%)"))
    repayment_method = models.CharField(
        _("repayment"), max_length=30, choices=RepaymentMethod.choices
    )
    # Eligibility.
    min_grade = models.CharField(
        _("minimum credit grade"), max_length=1, choices=GRADE_CHOICES, blank=True
    )
    min_years_in_business = models.DecimalField(
        _("minimum years in business"),
        max_digits=4,
        decimal_places=1,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(YEARS_IN_BUSINESS_MAX)],
    )
    min_tax_credit_grade = models.CharField(
        _("minimum tax credit grade"),
        max_length=1,
        choices=TAX_GRADE_CHOICES,
        blank=True,
    )
    excludes_dishonest_debtors = models.BooleanField(
        _("no dishonest judgement debtors (失信被执行人)"), default=True
    )
    excludes_unrepaired_serious_penalty = models.BooleanField(
        _("no unrepaired serious penalty"), default=True
    )
    required_categories = models.JSONField(
        _("required consent categories"), default=list, blank=True
    )
    # Tags and policy flags.
    pure_credit = models.BooleanField(_("pure credit (纯信用)"), default=False)
    fully_online = models.BooleanField(_("fully online (纯线上)"), default=False)
    fast_approval = models.BooleanField(_("fast approval (秒批)"), default=False)
    interest_subsidy = models.BooleanField(_("interest subsidy (贴息)"), default=False)
    risk_compensation = models.BooleanField(_("risk-compensation pool"), default=False)
    government_guarantee = models.BooleanField(_("government guarantee"), default=False)
    response_days = models.PositiveIntegerField(
        _("promised response time (working days)"),
        validators=[MinValueValidator(1), MaxValueValidator(RESPONSE_DAYS_MAX)],
    )
    # Lifecycle.
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ProductStatus.choices,
        default=ProductStatus.DRAFT,
    )
    review_comment = models.CharField(_("review comment"), max_length=1000, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    listed_at = models.DateTimeField(_("listed at"), null=True, blank=True)
    current_version = models.PositiveIntegerField(_("current version"), default=0)

    class Meta:
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")
        ordering = ["lender", "code"]
        indexes = [
            models.Index(fields=["status", "product_type"]),
            models.Index(fields=["status", "rate_min"]),
            models.Index(fields=["status", "amount_max"]),
            models.Index(fields=["status", "-listed_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["lender", "code"], name="lenders_product_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount_min__gt=0), name="lenders_product_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(amount_min__lte=F("amount_max")),
                name="lenders_product_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(term_min__gte=1), name="lenders_product_term_positive"
            ),
            models.CheckConstraint(
                condition=Q(term_min__lte=F("term_max")),
                name="lenders_product_term_range",
            ),
            models.CheckConstraint(
                condition=Q(rate_min__gt=0), name="lenders_product_rate_positive"
            ),
            models.CheckConstraint(
                condition=Q(rate_min__lte=F("rate_max")),
                name="lenders_product_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(response_days__gte=1),
                name="lenders_product_response_positive",
            ),
            models.CheckConstraint(
                condition=Q(amount_max__lte=AMOUNT_CEILING),
                name="lenders_product_amount_ceiling",
            ),
            models.CheckConstraint(
                condition=Q(term_max__lte=TERM_MAX_MONTHS),
                name="lenders_product_term_ceiling",
            ),
            models.CheckConstraint(
                condition=Q(rate_max__lte=RATE_CEILING),
                name="lenders_product_rate_ceiling",
            ),
            models.CheckConstraint(
                condition=Q(response_days__lte=RESPONSE_DAYS_MAX),
                name="lenders_product_response_ceiling",
            ),
            models.CheckConstraint(
                condition=Q(min_years_in_business__gte=0)
                & Q(min_years_in_business__lte=YEARS_IN_BUSINESS_MAX),
                name="lenders_product_years_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ProductStatus.values),
                name="lenders_product_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lender} · {self.name}"

    def clean(self) -> None:
        from core.codes import Category

        errors: dict[str, StrOrPromise] = {}
        pairs = (
            ("amount_min", "amount_max"),
            ("term_min", "term_max"),
            ("rate_min", "rate_max"),
        )
        for low, high in pairs:
            low_value, high_value = getattr(self, low), getattr(self, high)
            if (
                low_value is not None
                and high_value is not None
                and low_value > high_value
            ):
                errors[high] = _("The maximum must not be below the minimum.")
        for name in ("amount_min", "rate_min"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                errors[name] = _("Must be greater than zero.")
        if self.term_min is not None and self.term_min < 1:
            errors["term_min"] = _("At least one month.")
        cap = rate_cap()
        for name in ("rate_min", "rate_max"):
            value = getattr(self, name)
            if value is not None and value > cap:
                errors[name] = _("Above the legal cap of %(cap)s%% a year.") % {
                    "cap": cap
                }
        highest = amount_cap()
        for name in ("amount_min", "amount_max"):
            value = getattr(self, name)
            if value is not None and value > highest and name not in errors:
                errors[name] = _("At most CNY %(cap)s.") % {"cap": f"{highest:,.2f}"}
        unknown = sorted(set(self.required_categories or []) - set(Category.values))
        if unknown:
            errors["required_categories"] = _("Unknown data categories: %(names)s.") % {
                "names": ", ".join(unknown)
            }
        if errors:
            raise ValidationError(errors)

    @property
    def display_name(self) -> str:
        """The name in the page's language (English when given, else Chinese)."""
        return localized(self.name, self.name_en)

    @property
    def latest_revision(self) -> LoanProductRevision | None:
        """The newest change proposed for it (from ``selectors.with_latest_revision``
        when prefetched, else one query)."""
        cached = getattr(self, "revisions_newest_first", None)
        if cached is not None:
            return cached[0] if cached else None
        return self.revisions.order_by("-created_at", "-pk").first()

    @property
    def display_description(self) -> str:
        """The description in the page's language (English when given)."""
        return localized(self.description, self.description_en)

    def terms(
        self,
        *,
        regions: list[str] | None = None,
        industries: list[str] | None = None,
    ) -> dict:
        """The product's terms as a JSON-able snapshot: what a version stores and a
        revision proposes. Decimals are written with their column's places, so two
        snapshots of equal terms are equal whatever the input looked like.

        ``regions`` / ``industries`` stand in for the stored rows (a proposal's
        places are not rows yet); without them they are read from the database.
        """
        if regions is None:
            regions = (
                sorted(self.districts.values_list("district", flat=True))
                if self.pk
                else []
            )
        if industries is None:
            industries = (
                sorted(self.industries.values_list("industry", flat=True))
                if self.pk
                else []
            )
        return {
            "code": self.code,
            "name": self.name,
            "product_type": self.product_type,
            "guarantee_type": self.guarantee_type,
            "amount_min": _decimal_text(self.amount_min, 2),
            "amount_max": _decimal_text(self.amount_max, 2),
            "term_min": self.term_min,
            "term_max": self.term_max,
            "rate_min": _decimal_text(self.rate_min, 2),
            "rate_max": _decimal_text(self.rate_max, 2),
            "repayment_method": self.repayment_method,
            "regions": sorted(set(regions)),
            "industries": sorted(set(industries)),
            "min_grade": self.min_grade,
            "min_years_in_business": _decimal_text(self.min_years_in_business, 1),
            "min_tax_credit_grade": self.min_tax_credit_grade,
            "excludes_dishonest_debtors": self.excludes_dishonest_debtors,
            "excludes_unrepaired_serious_penalty": self.excludes_unrepaired_serious_penalty,
            "required_categories": sorted(self.required_categories or []),
            "pure_credit": self.pure_credit,
            "fully_online": self.fully_online,
            "fast_approval": self.fast_approval,
            "interest_subsidy": self.interest_subsidy,
            "risk_compensation": self.risk_compensation,
            "government_guarantee": self.government_guarantee,
            "response_days": self.response_days,
            "description": self.description,
            "name_en": self.name_en,
            "description_en": self.description_en,
        }


def _decimal_text(value, places: int) -> str:
    """``Decimal("100000")`` → ``"100000.00"`` (``places`` = 2); anything that is not
    a number is written as it is (``full_clean`` reports it)."""
    try:
        return f"{Decimal(value):.{places}f}"
    except (ArithmeticError, TypeError, ValueError):
        return str(value)


class LoanProductDistrict(models.Model):
    """A district a product is offered in; a product with none is offered city-wide."""

    product = models.ForeignKey(
        LoanProduct, on_delete=models.CASCADE, related_name="districts"
    )
    district = models.CharField(
        _("district"), max_length=6, choices=list(DISTRICTS.items())
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "district"], name="lenders_product_district_unique"
            )
        ]
        indexes = [models.Index(fields=["district", "product"])]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.district}"


class LoanProductIndustry(models.Model):
    """An industry a product is for; a product with none is for every industry."""

    product = models.ForeignKey(
        LoanProduct, on_delete=models.CASCADE, related_name="industries"
    )
    industry = models.CharField(
        _("industry"), max_length=1, choices=list(INDUSTRIES.items())
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "industry"], name="lenders_product_industry_unique"
            )
        ]
        indexes = [models.Index(fields=["industry", "product"])]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.industry}"


class LoanProductVersion(models.Model):
    """The terms of a product at one moment; kept forever."""

    product = models.ForeignKey(
        LoanProduct, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField(_("version"))
    terms = models.JSONField(_("terms"))
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("loan product version")
        verbose_name_plural = _("loan product versions")
        ordering = ["product", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "version"], name="lenders_product_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} v{self.version}"


class RevisionStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", pgettext_lazy("product change", "Returned")
    #: The bank edited the terms back to the listed ones, or delisted the product.
    WITHDRAWN = "withdrawn", pgettext_lazy("product change", "Withdrawn")


class LoanProductRevision(TimeStampedModel):
    """A change to a listed product's reviewed terms, waiting for the platform.

    ``proposed`` is the whole product as it would be, in the shape of
    ``LoanProduct.terms()`` (and so of a version); the live row and the public pages
    keep the listed terms until an operator approves it. At most one revision of a
    product is pending: a new edit by the bank updates it (``edits`` counts them, so
    an operator's decision can tell it is about the proposal they read).
    """

    product = models.ForeignKey(
        LoanProduct,
        on_delete=models.PROTECT,
        related_name="revisions",
        verbose_name=_("loan product"),
    )
    #: The listed version the bank changed.
    base_version = models.PositiveIntegerField(_("listed version"))
    proposed = models.JSONField(_("proposed terms"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RevisionStatus.choices,
        default=RevisionStatus.PENDING,
    )
    edits = models.PositiveIntegerField(_("edits"), default=1)
    proposed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("proposed by")
    )
    decided_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    operator_note = models.CharField(_("operator's note"), max_length=1000, blank=True)
    #: The version an approval made of it.
    version = models.OneToOneField(
        LoanProductVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revision",
        verbose_name=_("version"),
    )

    class Meta:
        verbose_name = _("loan product revision")
        verbose_name_plural = _("loan product revisions")
        ordering = ["product", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status=RevisionStatus.PENDING),
                name="lenders_revision_one_pending",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RevisionStatus.values),
                name="lenders_revision_status_valid",
            ),
            # An operator's decision says who and when; a return says why.
            models.CheckConstraint(
                condition=~Q(
                    status__in=[RevisionStatus.APPROVED, RevisionStatus.RETURNED]
                )
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="lenders_revision_decision_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(status=RevisionStatus.RETURNED) | ~Q(operator_note=""),
                name="lenders_revision_return_has_note",
            ),
            models.CheckConstraint(
                condition=~Q(status=RevisionStatus.APPROVED) | Q(version__isnull=False),
                name="lenders_revision_approval_has_version",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "created_at"], name="lenders_revision_queue_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} · {self.get_status_display()}"


class ProductTransition(models.Model):
    """Every status change of a product: who, when, from what, to what, why."""

    product = models.ForeignKey(
        LoanProduct, on_delete=models.CASCADE, related_name="transitions"
    )
    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(
        _("from"), max_length=20, choices=ProductStatus.choices
    )
    to_status = models.CharField(_("to"), max_length=20, choices=ProductStatus.choices)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    comment = models.CharField(
        pgettext_lazy("product history", "comment"), max_length=1000, blank=True
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["product", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status} → {self.to_status}"


class ApiKey(TimeStampedModel):
    """A lender's key to the bank API. Only a SHA-256 of the secret is stored; the key is
    shown once, at creation. ``prefix`` identifies it in lists and logs."""

    lender = models.ForeignKey(
        Lender,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("lender"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_sha256 = models.CharField(_("key SHA-256"), max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class WebhookEndpoint(TimeStampedModel):
    """Where a lender receives signed event notifications.

    The signing secret must be used again for every delivery, so it cannot be hashed
    like an API key: it is encrypted at rest (``EncryptedTextField``) and shown only to
    the bank's administrators, once, when it is issued.
    """

    lender = models.OneToOneField(
        Lender,
        on_delete=models.CASCADE,
        related_name="webhook_endpoint",
        verbose_name=_("lender"),
    )
    url = models.URLField(_("HTTPS URL"), max_length=500)
    secret = EncryptedTextField(_("signing secret"))
    secret_created_at = models.DateTimeField(
        _("signing secret issued at"), default=timezone.now
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed after all retries")


class WebhookDelivery(TimeStampedModel):
    """One event for one endpoint, with its attempts."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(_("event id"), max_length=40, unique=True)
    event_type = models.CharField(_("event"), max_length=50)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField(_("attempt"))
    requested_at = models.DateTimeField(_("sent at"))
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"))
    response_excerpt = models.CharField(_("response"), max_length=500, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="lenders_attempt_unique"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"
