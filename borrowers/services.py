"""Writes about enterprises and consents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import Organization, OrganizationKind, Role, User
from accounts.selectors import user_memberships
from borrowers import lock_objects
from borrowers.exceptions import (
    EnterpriseAlreadyRegistered,
    InvalidConsent,
    NotEnterpriseOwner,
)
from borrowers.models import (
    MAX_CONSENT_MONTHS,
    ConsentPurpose,
    CreditAuthorization,
    DataAccessLog,
    Enterprise,
    sha256_text,
)
from borrowers.notices import current_notice, render_notice
from borrowers.uscc import normalize_uscc
from core import bulk, jobs
from core.codes import Category

#: Organizations that may receive a consent, by purpose.
GRANTEE_KINDS = {
    ConsentPurpose.SCORING: {OrganizationKind.PLATFORM},
    ConsentPurpose.LOAN_REVIEW: {OrganizationKind.LENDER},
    ConsentPurpose.POST_LOAN_MONITORING: {OrganizationKind.LENDER},
}
DEFAULT_RETENTION_DAYS = 180


def _require_owner(*, user: User, enterprise: Enterprise) -> None:
    for membership in user_memberships(user=user):
        if (
            membership.organization_id == enterprise.organization_id
            and membership.role == Role.OWNER
        ):
            return
    raise NotEnterpriseOwner(
        _("Only an owner of %(name)s may do this.") % {"name": enterprise.name}
    )


@transaction.atomic
def enterprise_register(
    *,
    user: User,
    uscc: str,
    name: str,
    legal_representative: str,
    registered_capital: Decimal,
    founded_on: date,
    industry: str,
    district: str,
    employees: int,
) -> Enterprise:
    """Register an SME: its organization, its record and the user as its owner."""
    uscc = normalize_uscc(uscc)
    if Enterprise.objects.filter(uscc=uscc).exists():
        raise EnterpriseAlreadyRegistered(
            _(
                "An enterprise with the code %(uscc)s is already registered; ask its "
                "owner to invite you."
            )
            % {"uscc": uscc},
            field="uscc",
        )
    enterprise = Enterprise(
        uscc=uscc,
        name=name.strip(),
        legal_representative=legal_representative.strip(),
        registered_capital=registered_capital,
        founded_on=founded_on,
        industry=industry,
        district=district,
        employees=employees,
    )
    enterprise.full_clean(exclude=["organization"])
    organization_name = enterprise.name
    if Organization.objects.filter(
        kind=OrganizationKind.ENTERPRISE, name=organization_name
    ).exists():
        organization_name = f"{enterprise.name} ({uscc})"
    organization = account_services.organization_create(
        kind=OrganizationKind.ENTERPRISE, name=organization_name
    )
    enterprise.organization = organization
    try:
        with transaction.atomic():
            enterprise.save()
    except IntegrityError:  # a concurrent registration of the same code won the race
        raise EnterpriseAlreadyRegistered(
            _("An enterprise with the code %(uscc)s is already registered.")
            % {"uscc": uscc},
            field="uscc",
        ) from None
    account_services.membership_create(
        user=user, organization=organization, role=Role.OWNER
    )
    return enterprise


def consent_preview(
    *,
    enterprise: Enterprise,
    grantee: Organization,
    purpose: str,
    categories: list[str],
    months: int,
    retention_days: int,
    language: str,
    start=None,
) -> dict:
    """Check a requested consent and render its notice, without writing anything."""
    errors: dict[str, str] = {}
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = _("Unknown purpose.")
    elif grantee.kind not in GRANTEE_KINDS[purpose] or not grantee.is_active:
        errors["grantee"] = _(
            "%(grantee)s cannot receive a consent for this purpose."
        ) % {"grantee": grantee.name}
    categories = sorted(set(categories))
    if not categories:
        errors["categories"] = _("Choose at least one data category.")
    elif set(categories) - set(Category.values):
        errors["categories"] = _("Unknown data category.")
    if not 1 <= months <= MAX_CONSENT_MONTHS:
        errors["months"] = _("A consent is valid for 1 to 12 months.")
    if not 0 <= retention_days <= 5 * 365:
        errors["retention_days"] = _("Retention must be between 0 and 1825 days.")
    if errors:
        raise InvalidConsent(next(iter(errors.values())), field=next(iter(errors)))
    notice = current_notice()
    valid_from = start or timezone.now()
    valid_to = valid_from + relativedelta(months=months)
    text = render_notice(
        notice=notice,
        language=language,
        enterprise_name=enterprise.name,
        uscc=enterprise.uscc,
        grantee_name=grantee.name,
        purpose=purpose,
        categories=categories,
        valid_from=valid_from,
        valid_to=valid_to,
        retention_days=retention_days,
    )
    return {
        "notice": notice,
        "text": text,
        "sha256": sha256_text(text),
        "valid_from": valid_from,
        "valid_to": valid_to,
        "categories": categories,
    }


@transaction.atomic
def authorization_grant(
    *,
    enterprise: Enterprise,
    grantee: Organization,
    purpose: str,
    categories: list[str],
    months: int,
    granted_by: User,
    language: str,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    notice_sha256: str | None = None,
) -> CreditAuthorization:
    """Grant a consent. ``notice_sha256`` is the fingerprint of the text the owner read:
    if the notice changed in between (a new version, other terms), nothing is granted."""
    _require_owner(user=granted_by, enterprise=enterprise)
    preview = consent_preview(
        enterprise=enterprise,
        grantee=grantee,
        purpose=purpose,
        categories=categories,
        months=months,
        retention_days=retention_days,
        language=language,
    )
    if notice_sha256 is not None and notice_sha256 != preview["sha256"]:
        # The text names the validity dates: a consent read yesterday is a different
        # consent today, as is one read under an older notice version.
        raise InvalidConsent(
            _(
                "The notice changed since you read it; please read it again and confirm."
            ),
            field="notice_sha256",
        )
    authorization = CreditAuthorization(
        enterprise=enterprise,
        grantee=grantee,
        purpose=purpose,
        scope=preview["categories"],
        retention_days=retention_days,
        notice=preview["notice"],
        notice_language=language,
        notice_text=preview["text"],
        notice_sha256=preview["sha256"],
        granted_by=granted_by,
        granted_at=preview["valid_from"],
        valid_from=preview["valid_from"],
        valid_to=preview["valid_to"],
    )
    try:
        authorization.full_clean()
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise InvalidConsent(messages[0], field=field) from None
    authorization.save()
    return authorization


@transaction.atomic
def authorization_revoke(
    *, authorization: CreditAuthorization, revoked_by: User, reason: str = ""
) -> CreditAuthorization:
    """Revoke a consent, effective immediately. Idempotent for an already revoked one.

    The row lock orders revocation against a running pull's write transaction (which
    locks the same row): either the pull's rows commit first, or the pull sees the
    revocation and writes nothing.
    """
    _require_owner(user=revoked_by, enterprise=authorization.enterprise)
    locked = lock_objects.authorization_lock(authorization_pk=authorization.pk)
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at = max(timezone.now(), locked.granted_at)
    locked.revoked_by = revoked_by
    locked.revoke_reason = reason.strip()[:500]
    locked.save(
        update_fields=["revoked_at", "revoked_by", "revoke_reason", "updated_at"]
    )
    from borrowers.tasks import notify_grantee_of_revocation

    jobs.enqueue(notify_grantee_of_revocation, locked.pk)
    return locked


def access_log_record(
    *,
    enterprise: Enterprise,
    authorization: CreditAuthorization,
    organization: Organization,
    category: str,
    channel: str,
    request_id: str,
    actor: User | None = None,
) -> DataAccessLog:
    """Append one access-log row: one read of one category by one organization."""
    return DataAccessLog.objects.create(
        enterprise=enterprise,
        actor=actor if actor is not None and actor.is_authenticated else None,
        organization=organization,
        category=category,
        purpose=authorization.purpose,
        authorization=authorization,
        channel=channel,
        request_id=request_id[:64],
    )


class AccessRead(NamedTuple):
    """One read of one category of an enterprise's data, by a consent's grantee."""

    enterprise_id: int
    organization_id: int
    category: str
    purpose: str
    authorization_id: int
    channel: str
    request_id: str


def access_logs_append(*, reads: Sequence[AccessRead]) -> int:
    """Append one access-log row per read, all stamped now; returns how many.

    For reads in bulk (the platform computing the features of many enterprises at
    once): the rows go in one ``COPY`` on PostgreSQL, else in one ``bulk_create``.
    The caller's transaction holds them with the write they belong to."""
    accessed_at = timezone.now()
    if connection.vendor == "postgresql":
        bulk.copy_tuples(
            DataAccessLog,
            (*AccessRead._fields, "accessed_at"),
            ((*read[:-1], read.request_id[:64], accessed_at) for read in reads),
        )
    else:
        DataAccessLog.objects.bulk_create(
            (
                DataAccessLog(
                    **{**read._asdict(), "request_id": read.request_id[:64]},
                    accessed_at=accessed_at,
                )
                for read in reads
            ),
            batch_size=2000,
        )
    return len(reads)
