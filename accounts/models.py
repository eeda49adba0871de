"""Users, organizations and who holds which role in them.

Every person on the platform is a ``User`` who logs in with an email address. What a
user may do follows from their ``Membership`` of an ``Organization``: an enterprise
(owner, member), a lender (admin, reviewer), the credit promotion office (editor,
reviewer) or the platform operator. The domain apps attach their own records
(``borrowers.Enterprise``, ``lenders.Lender``) to an organization, so that this app never
needs to know about loans.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


def localized(text: str, english: str) -> str:
    """``english`` on an English page when there is one, else ``text``.

    Names are entered in Chinese (the default language) and optionally in English;
    an English page falls back to the Chinese, so nothing is ever shown blank.
    """
    language = translation.get_language() or ""
    if english and language.split("-")[0] == "en":
        return english
    return text


class UserManager(BaseUserManager["User"]):
    """Users are identified by their email address; there is no username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> User:
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(
        self, email: str, password: str | None = None, **extra_fields
    ) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(
        self, email: str, password: str | None = None, **extra_fields
    ) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if extra_fields.get("is_staff") is not True:
            raise ValueError("Superuser must have is_staff=True.")
        if extra_fields.get("is_superuser") is not True:
            raise ValueError("Superuser must have is_superuser=True.")
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person. Email is the login; it is stored lower-cased and unique."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, blank=True
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # The stubs expect django.contrib.auth's UserManager (username-based); Django's
    # documented way for an email login is a BaseUserManager of one's own, as here.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="accounts_user_email_ci_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args, **kwargs) -> None:
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name or self.email.split("@", 1)[0]


class OrganizationKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    LENDER = "lender", _("Lender")
    PROMOTION_OFFICE = "promotion_office", _("Credit promotion office")
    PLATFORM = "platform", _("Platform operator")


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MEMBER = "member", _("Member")
    ADMIN = "admin", _("Administrator")
    REVIEWER = "reviewer", _("Reviewer")
    EDITOR = "editor", _("Editor")
    OPERATOR = "operator", _("Operator")


#: Which roles exist in which kind of organization; the single source of truth.
ROLES_BY_KIND: dict[str, tuple[str, ...]] = {
    OrganizationKind.ENTERPRISE: (Role.OWNER, Role.MEMBER),
    OrganizationKind.LENDER: (Role.ADMIN, Role.REVIEWER),
    OrganizationKind.PROMOTION_OFFICE: (Role.EDITOR, Role.REVIEWER),
    OrganizationKind.PLATFORM: (Role.OPERATOR,),
}

#: Roles that may invite and remove members of their own organization.
MANAGING_ROLES: frozenset[str] = frozenset({Role.OWNER, Role.ADMIN, Role.OPERATOR})

#: Staff of these organizations see other people's data or publish in the city's
#: name, so they must have a second factor before they reach their portal.
MFA_REQUIRED_KINDS: frozenset[str] = frozenset(
    {
        OrganizationKind.LENDER,
        OrganizationKind.PROMOTION_OFFICE,
        OrganizationKind.PLATFORM,
    }
)


class Organization(TimeStampedModel):
    """An enterprise, a bank, the promotion office or the platform operator."""

    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind.choices)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "name"], name="accounts_org_kind_name_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=OrganizationKind.values),
                name="accounts_org_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the page's language (English when given, else Chinese)."""
        return localized(self.name, self.name_en)


class Membership(TimeStampedModel):
    """A user's role in one organization. One membership per (user, organization)."""

    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organization"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization__kind", "organization__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="accounts_membership_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values),
                name="accounts_membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} · {self.get_role_display()}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if (
            self.organization_id
            and self.role not in ROLES_BY_KIND[self.organization.kind]
        ):
            raise ValidationError(
                {
                    "role": _("The role “%(role)s” does not exist in a %(kind)s.")
                    % {"role": self.role, "kind": self.organization.get_kind_display()}
                }
            )

    @property
    def can_manage_members(self) -> bool:
        return self.role in MANAGING_ROLES


class Invitation(TimeStampedModel):
    """An offer of a role in an organization, accepted by logging in with that email.

    Acceptance needs a *verified* address (mandatory verification), so holding the
    invitation email is what proves the right to the role; no token travels in links.
    """

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name=_("organization"),
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    invited_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="accounts_invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.get_role_display()})"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )
