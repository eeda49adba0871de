"""Enterprises, their real-name verification, their consents (授权书) and the log of
every read of their data.

Trust is the product: an SME's public credit data moves only under a consent it can
read, see and revoke, and every read by anyone outside the enterprise is written to an
append-only log the enterprise itself can read. And only someone who has proved to act
for the enterprise (企业实名认证) may grant that consent: registering a USCC proves
nothing by itself.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organization, User
from borrowers.uscc import validate_uscc
from core.codes import DISTRICTS, INDUSTRIES, Category
from core.fields import money_field
from core.models import TimeStampedModel

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

#: A consent ends at most this many calendar months after it starts (a start on the
#: 31st or the 29th of February ends on the last day of a shorter month).
MAX_CONSENT_MONTHS = 12


#: A code sent to the registered contact is valid this long and for this many tries.
VERIFICATION_CODE_MINUTES = 10
VERIFICATION_CODE_ATTEMPTS = 5
#: An authorization letter is a PDF, JPEG or PNG scan of at most this many bytes.
MAX_LETTER_BYTES = 5 * 1024 * 1024
LETTER_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")


class EnterpriseStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("enterprise status", "Active")
    SUSPENDED = "suspended", _("Suspended")
    DEREGISTERED = "deregistered", _("Deregistered")


class VerificationStatus(models.TextChoices):
    """Whether the enterprise's registrant has proved to act for it."""

    UNVERIFIED = "unverified", _("Not verified")
    PENDING_REVIEW = "pending_review", _("Authorization letter under review")
    VERIFIED = "verified", pgettext_lazy("real-name verification", "Verified")


class VerificationMethod(models.TextChoices):
    REGISTERED_CONTACT_CODE = (
        "registered_contact_code",
        _("Code sent to the registered contact"),
    )
    AUTHORIZATION_LETTER = (
        "authorization_letter",
        _("Authorization letter with the company seal"),
    )
    # Only on Enterprise: the rows that existed when verification was introduced.
    PRE_EXISTING = (
        "pre_existing",
        _("Registered before real-name verification was required"),
    )


#: The methods an attempt (EnterpriseVerification) can use.
ATTEMPT_METHODS = (
    VerificationMethod.REGISTERED_CONTACT_CODE,
    VerificationMethod.AUTHORIZATION_LETTER,
)


class AttemptStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("verification attempt", "Pending")
    CONFIRMED = "confirmed", pgettext_lazy("verification attempt", "Confirmed")
    EXPIRED = "expired", pgettext_lazy("verification attempt", "Expired")
    LOCKED = "locked", pgettext_lazy("verification attempt", "Locked")
    REJECTED = "rejected", pgettext_lazy("verification attempt", "Rejected")
    SUPERSEDED = "superseded", pgettext_lazy("verification attempt", "Superseded")


class Enterprise(TimeStampedModel):
    """An SME, identified by its Unified Social Credit Code; one per USCC."""

    organization = models.OneToOneField(
        Organization,
        on_delete=models.PROTECT,
        related_name="enterprise",
        verbose_name=_("organization"),
    )
    uscc = models.CharField(
        _("Unified Social Credit Code"),
        max_length=18,
        unique=True,
        validators=[validate_uscc],
    )
    name = models.CharField(_("name"), max_length=200)
    legal_representative = models.CharField(_("legal representative"), max_length=100)
    registered_capital = money_field(
        _("registered capital (CNY)"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="CNY", editable=False
    )
    founded_on = models.DateField(_("founded on"))
    industry = models.CharField(
        _("industry (GB/T 4754 section)"),
        max_length=1,
        choices=list(INDUSTRIES.items()),
    )
    district = models.CharField(
        _("district"), max_length=6, choices=list(DISTRICTS.items())
    )
    employees = models.PositiveIntegerField(
        _("employees"), validators=[MaxValueValidator(1_000_000)]
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=EnterpriseStatus.choices,
        default=EnterpriseStatus.ACTIVE,
    )
    verification_status = models.CharField(
        _("real-name verification"),
        max_length=20,
        choices=VerificationStatus.choices,
        default=VerificationStatus.UNVERIFIED,
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_method = models.CharField(
        _("verified by"),
        max_length=30,
        choices=VerificationMethod.choices,
        blank=True,
    )

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ["name"]
        indexes = [models.Index(fields=["district", "industry"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(registered_capital__gt=0),
                name="borrowers_enterprise_capital_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(verification_status__in=VerificationStatus.values),
                name="borrowers_enterprise_verification_status_valid",
            ),
            # Verified exactly when it says when and how; never a half-set state.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        verification_status=VerificationStatus.VERIFIED,
                        verified_at__isnull=False,
                        verification_method__in=VerificationMethod.values,
                    )
                    | (
                        ~models.Q(verification_status=VerificationStatus.VERIFIED)
                        & models.Q(verified_at__isnull=True, verification_method="")
                    )
                ),
                name="borrowers_enterprise_verified_when_and_how",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.uscc})"

    @property
    def is_verified(self) -> bool:
        return self.verification_status == VerificationStatus.VERIFIED

    def clean(self) -> None:
        if self.founded_on and self.founded_on > timezone.localdate():
            raise ValidationError(
                {"founded_on": _("The founding date is in the future.")}
            )


class EnterpriseVerification(TimeStampedModel):
    """One attempt to prove that the registrant acts for the enterprise.

    Either a code the provider sent to the contact its registry holds for the
    enterprise (``provider_challenge_id``; the contact is kept masked only), or an
    authorization letter (授权委托书) with the company seal, uploaded by the registrant
    and reviewed by a platform operator. The letter's bytes live in this row, never in
    public media storage, and are served only through a permission-checked view.
    """

    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="verifications",
        verbose_name=_("enterprise"),
    )
    method = models.CharField(
        _("method"), max_length=30, choices=VerificationMethod.choices
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=AttemptStatus.choices,
        default=AttemptStatus.PENDING,
    )
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    # --- code sent to the registered contact ---------------------------------------
    provider_challenge_id = models.CharField(
        _("provider challenge id"), max_length=100, blank=True
    )
    masked_contact = models.CharField(_("sent to"), max_length=32, blank=True)
    expires_at = models.DateTimeField(_("code expires at"), null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(
        _("wrong codes entered"), default=0
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # --- authorization letter ------------------------------------------------------
    letter_content = models.BinaryField(_("letter file"), null=True, editable=False)
    letter_filename = models.CharField(_("file name"), max_length=200, blank=True)
    letter_content_type = models.CharField(_("file type"), max_length=50, blank=True)
    letter_size = models.PositiveIntegerField(
        _("file size (bytes)"), null=True, blank=True
    )
    letter_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    reviewed_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    rejection_reason = models.CharField(
        _("reason for rejection"), max_length=500, blank=True
    )

    class Meta:
        verbose_name = _("real-name verification attempt")
        verbose_name_plural = _("real-name verification attempts")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "method", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(method__in=ATTEMPT_METHODS),
                name="borrowers_verification_method_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=AttemptStatus.values),
                name="borrowers_verification_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(failed_attempts__lte=VERIFICATION_CODE_ATTEMPTS),
                name="borrowers_verification_attempts_bounded",
            ),
            # A code attempt has the provider's challenge and its expiry; a letter
            # attempt has a file of an accepted type and size.
            models.CheckConstraint(
                condition=~models.Q(method=VerificationMethod.REGISTERED_CONTACT_CODE)
                | (
                    ~models.Q(provider_challenge_id="")
                    & models.Q(expires_at__isnull=False)
                ),
                name="borrowers_verification_code_has_challenge",
            ),
            models.CheckConstraint(
                condition=~models.Q(method=VerificationMethod.AUTHORIZATION_LETTER)
                | (
                    ~models.Q(letter_sha256="")
                    & models.Q(
                        letter_size__gt=0,
                        letter_size__lte=MAX_LETTER_BYTES,
                        letter_content_type__in=LETTER_CONTENT_TYPES,
                    )
                ),
                name="borrowers_verification_letter_has_file",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=AttemptStatus.CONFIRMED)
                | models.Q(confirmed_at__isnull=False),
                name="borrowers_verification_confirmed_when",
            ),
            # Only an operator's review decides on a letter, and a rejection says why.
            models.CheckConstraint(
                condition=~models.Q(
                    method=VerificationMethod.AUTHORIZATION_LETTER,
                    status__in=[AttemptStatus.CONFIRMED, AttemptStatus.REJECTED],
                )
                | models.Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="borrowers_verification_letter_reviewed",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=AttemptStatus.REJECTED)
                | (
                    models.Q(method=VerificationMethod.AUTHORIZATION_LETTER)
                    & ~models.Q(rejection_reason="")
                ),
                name="borrowers_verification_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=AttemptStatus.LOCKED)
                | models.Q(method=VerificationMethod.REGISTERED_CONTACT_CODE),
                name="borrowers_verification_only_codes_lock",
            ),
            # At most one open attempt of each method per enterprise.
            models.UniqueConstraint(
                fields=["enterprise", "method"],
                condition=models.Q(status=AttemptStatus.PENDING),
                name="borrowers_verification_one_pending_per_method",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.enterprise} {self.get_method_display()} {self.get_status_display()}"
        )

    @property
    def attempts_remaining(self) -> int:
        return max(VERIFICATION_CODE_ATTEMPTS - self.failed_attempts, 0)


class ConsentPurpose(models.TextChoices):
    SCORING = "scoring", _("Credit scoring and product matching")
    LOAN_REVIEW = "loan_review", _("Review of one loan application")
    POST_LOAN_MONITORING = "post_loan_monitoring", _("Post-loan monitoring")


class ConsentNotice(TimeStampedModel):
    """A version of the authorization notice (授权书) template.

    The newest published version is current; a consent granted under an older version
    no longer allows pulls until the enterprise has read and granted the new one.
    """

    version = models.CharField(_("version"), max_length=20, unique=True)
    template_zh = models.TextField(_("notice template (Chinese)"))
    template_en = models.TextField(_("notice template (English)"))
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("authorization notice version")
        verbose_name_plural = _("authorization notice versions")
        ordering = ["-published_at", "-pk"]

    def __str__(self) -> str:
        return self.version


class CreditAuthorization(TimeStampedModel):
    """One consent: who may read which categories, for what, until when.

    Immutable once granted: only the revocation fields may ever change (renewal is a
    new row). ``notice_text`` is exactly what the enterprise read, ``notice_sha256`` its
    fingerprint, so the wording of any consent can be proven later.
    """

    REVOCATION_FIELDS = frozenset(
        {"revoked_at", "revoked_by", "revoke_reason", "updated_at"}
    )

    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="authorizations",
        verbose_name=_("enterprise"),
    )
    grantee = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="authorizations_received",
        verbose_name=_("grantee"),
    )
    purpose = models.CharField(
        _("purpose"), max_length=30, choices=ConsentPurpose.choices
    )
    scope = models.JSONField(_("data categories"))
    retention_days = models.PositiveIntegerField(
        _("retention after the consent ends (days)"),
        validators=[MaxValueValidator(5 * 365)],
    )
    notice = models.ForeignKey(
        ConsentNotice,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("notice"),
    )
    notice_language = models.CharField(_("notice language"), max_length=10)
    notice_text = models.TextField(_("notice text as read"))
    notice_sha256 = models.CharField(_("notice SHA-256"), max_length=64)
    granted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("granted by")
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revoke_reason = models.CharField(
        _("reason for revocation"), max_length=500, blank=True
    )

    class Meta:
        verbose_name = _("credit data authorization")
        verbose_name_plural = _("credit data authorizations")
        ordering = ["-granted_at", "-pk"]
        indexes = [models.Index(fields=["enterprise", "grantee", "purpose"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__gt=models.F("valid_from")),
                name="borrowers_authorization_valid_window",
            ),
            models.CheckConstraint(
                condition=models.Q(purpose__in=ConsentPurpose.values),
                name="borrowers_authorization_purpose_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True)
                | models.Q(revoked_at__gte=models.F("granted_at")),
                name="borrowers_authorization_revoked_after_grant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise.name} → {self.grantee.name} ({self.get_purpose_display()})"

    def clean(self) -> None:
        errors: dict[str, StrOrPromise] = {}
        if not isinstance(self.scope, list) or not self.scope:
            errors["scope"] = _("Choose at least one data category.")
        else:
            unknown = sorted(set(self.scope) - set(Category.values))
            if unknown:
                errors["scope"] = _("Unknown data categories: %(names)s.") % {
                    "names": ", ".join(map(str, unknown))
                }
        if self.valid_from and self.valid_to:
            if self.valid_to <= self.valid_from:
                errors["valid_to"] = _("The consent must end after it starts.")
            elif self.valid_to > self.valid_from + relativedelta(
                months=MAX_CONSENT_MONTHS
            ):
                errors["valid_to"] = _("A consent is valid for at most 12 months.")
        if self.notice_text and self.notice_sha256 != sha256_text(self.notice_text):
            errors["notice_sha256"] = _(
                "The fingerprint does not match the notice text."
            )
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or set(update_fields) - self.REVOCATION_FIELDS:
                from borrowers.exceptions import AuthorizationImmutable

                raise AuthorizationImmutable(
                    _("A granted consent cannot be changed; grant a new one instead.")
                )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        from borrowers.exceptions import AuthorizationImmutable

        raise AuthorizationImmutable(
            _("A granted consent is kept as evidence forever.")
        )

    # --- state ------------------------------------------------------------------------
    def status_at(self, when=None) -> str:
        when = when or timezone.now()
        if self.revoked_at is not None and self.revoked_at <= when:
            return "revoked"
        if when < self.valid_from:
            return "pending"
        if when >= self.valid_to:
            return "expired"
        return "active"

    @property
    def status(self) -> str:
        return self.status_at()

    def covers(self, category: str) -> bool:
        return category in (self.scope or [])


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AccessChannel(models.TextChoices):
    WEB = "web", _("Web page")
    API = "api", _("API")
    INGESTION = "ingestion", _("Data pull from the provider")
    SCORING = "scoring", _("Credit scoring")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        from borrowers.exceptions import AccessLogAppendOnly

        raise AccessLogAppendOnly("The data access log is append-only.")

    def delete(self):
        from borrowers.exceptions import AccessLogAppendOnly

        raise AccessLogAppendOnly("The data access log is append-only.")


class DataAccessLog(models.Model):
    """One read of an enterprise's data by anyone but its own members. Append-only.

    On PostgreSQL a trigger also refuses UPDATE and DELETE, so not even a raw SQL
    statement or a bug elsewhere can rewrite the history the SME is shown.
    """

    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        related_name="access_log",
        verbose_name=_("enterprise"),
    )
    actor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
        help_text=_("Empty for the platform's own background jobs."),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("organization"),
    )
    category = models.CharField(
        _("data category"), max_length=30, choices=Category.choices
    )
    purpose = models.CharField(
        _("purpose"), max_length=30, choices=ConsentPurpose.choices
    )
    authorization = models.ForeignKey(
        CreditAuthorization,
        on_delete=models.PROTECT,
        related_name="access_log",
        verbose_name=_("authorization"),
    )
    channel = models.CharField(
        _("channel"), max_length=20, choices=AccessChannel.choices
    )
    request_id = models.CharField(_("request id"), max_length=64)
    accessed_at = models.DateTimeField(
        _("accessed at"), default=timezone.now, db_index=True
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("data access log entry")
        verbose_name_plural = _("data access log")
        ordering = ["-accessed_at", "-pk"]
        indexes = [models.Index(fields=["enterprise", "-accessed_at"])]

    def __str__(self) -> str:
        return f"{self.accessed_at:%Y-%m-%d %H:%M} {self.organization} {self.category}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            from borrowers.exceptions import AccessLogAppendOnly

            raise AccessLogAppendOnly("The data access log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        from borrowers.exceptions import AccessLogAppendOnly

        raise AccessLogAppendOnly("The data access log is append-only.")
