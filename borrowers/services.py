"""Writes about enterprises, their real-name verification and consents."""

from __future__ import annotations

import hashlib
import io
import posixpath
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple, NoReturn

from dateutil.relativedelta import relativedelta
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import services as account_services
from accounts.models import Organization, OrganizationKind, Role, User
from accounts.selectors import membership_for, user_memberships
from borrowers import lock_objects
from borrowers.exceptions import (
    EnterpriseAlreadyRegistered,
    EnterpriseAlreadyVerified,
    EnterpriseNotInRegistry,
    EnterpriseNotVerified,
    InvalidConsent,
    NotEnterpriseOwner,
    NotOperator,
    RegistryMismatch,
    TooManyAttempts,
    VerificationFailed,
)
from borrowers.models import (
    MAX_CONSENT_MONTHS,
    MAX_LETTER_BYTES,
    VERIFICATION_CODE_ATTEMPTS,
    AttemptStatus,
    ConsentPurpose,
    CreditAuthorization,
    DataAccessLog,
    Enterprise,
    EnterpriseVerification,
    VerificationMethod,
    VerificationStatus,
    sha256_text,
)
from borrowers.notices import current_notice, render_notice
from borrowers.uscc import normalize_uscc
from core import bulk, jobs
from core.codes import Category

#: Organizations that may receive a consent, by purpose.
GRANTEE_KINDS: dict[str, set[str]] = {
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


class RegistryRecord(NamedTuple):
    """What the provider's registry holds for a USCC (the part registration checks)."""

    name: str
    legal_representative: str
    status: str


#: Registrations refused for a mismatch, per user and window: beyond this, stop, so
#: the form cannot be used to guess a company's legal representative.
REGISTRATION_MISMATCH_LIMIT = 10
REGISTRATION_MISMATCH_WINDOW = 60 * 60


def normalize_registered_text(text: str) -> str:
    """A name as compared with the registry: NFKC (full-width letters, digits and
    brackets become half-width: ``（深圳）`` = ``(深圳)``), white space trimmed and each
    run of it one space, letters case-folded."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _mismatch_key(user: User) -> str:
    return f"borrowers:registration-mismatches:{user.pk}"


def enterprise_register_precheck(*, user: User, uscc: str) -> str:
    """What can be refused before the registry is asked: a code already registered, a
    user who mistyped too often. Returns the normalized code."""
    uscc = normalize_uscc(uscc)
    if (cache.get(_mismatch_key(user)) or 0) >= REGISTRATION_MISMATCH_LIMIT:
        raise TooManyAttempts(
            _(
                "Too many registrations did not match the registry; try again in an "
                "hour, with the details exactly as on the business licence."
            )
        )
    if Enterprise.objects.filter(uscc=uscc).exists():
        raise EnterpriseAlreadyRegistered(
            _(
                "An enterprise with the code %(uscc)s is already registered; ask its "
                "owner to invite you."
            )
            % {"uscc": uscc},
            field="uscc",
        )
    return uscc


def _registry_errors(
    *, name: str, legal_representative: str, registry: RegistryRecord
) -> dict[str, str]:
    """The fields that do not match the registry record. The messages say *that* it
    does not match, never what the registry holds: the registrant is not verified."""
    errors: dict[str, str] = {}
    if normalize_registered_text(name) != normalize_registered_text(registry.name):
        errors["name"] = _(
            "This name does not match the registry record for this Unified Social "
            "Credit Code. Type the registered name exactly as on the business licence."
        )
    if normalize_registered_text(legal_representative) != normalize_registered_text(
        registry.legal_representative
    ):
        errors["legal_representative"] = _(
            "This legal representative does not match the registry record for this "
            "Unified Social Credit Code."
        )
    return errors


def _count_mismatch(user: User) -> None:
    key = _mismatch_key(user)
    cache.add(key, 0, REGISTRATION_MISMATCH_WINDOW)
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, REGISTRATION_MISMATCH_WINDOW)


def _require_verified(enterprise: Enterprise) -> None:
    """Re-read from the database: the instance in hand may predate a change."""
    if not Enterprise.objects.filter(
        pk=enterprise.pk, verification_status=VerificationStatus.VERIFIED
    ).exists():
        raise EnterpriseNotVerified(
            _(
                "%(name)s is not verified yet: complete the real-name verification "
                "before granting any consent."
            )
            % {"name": enterprise.name}
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
    registry: RegistryRecord,
) -> Enterprise:
    """Register an SME: its organization, its record and the user as its owner.

    ``registry`` is the provider's registration record of the code (fetched by the
    onboarding workflow): the typed name and legal representative must match it. The
    enterprise starts unverified; nothing can be granted or pulled until its
    registrant proves to act for it (``verification_*`` below)."""
    uscc = enterprise_register_precheck(user=user, uscc=uscc)
    if registry.status != "active":
        raise EnterpriseNotInRegistry(
            _(
                "The registry lists the enterprise with this code as no longer "
                "active; it cannot be registered."
            ),
            field="uscc",
        )
    errors = _registry_errors(
        name=name, legal_representative=legal_representative, registry=registry
    )
    if errors:
        _count_mismatch(user)
        raise RegistryMismatch(errors)
    enterprise = Enterprise(
        uscc=uscc,
        name=" ".join(name.split()),
        legal_representative=" ".join(legal_representative.split()),
        registered_capital=registered_capital,
        founded_on=founded_on,
        industry=industry,
        district=district,
        employees=employees,
        verification_status=VerificationStatus.UNVERIFIED,
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


# --- Real-name verification (企业实名认证) ---------------------------------------------

#: A new code may be requested this long after the previous one, and this many a day:
#: each one is a text message to the legal representative's phone.
CODE_RESEND_SECONDS = 60
CODES_PER_DAY = 5


def _require_unverified(enterprise: Enterprise) -> Enterprise:
    """The enterprise as stored now; refused when it is verified already."""
    current = Enterprise.objects.get(pk=enterprise.pk)
    if current.is_verified:
        raise EnterpriseAlreadyVerified(
            _("%(name)s is verified already.") % {"name": current.name}
        )
    return current


def _mark_verified(*, locked: Enterprise, method: str, keep_pk: int) -> None:
    """Verify the (locked) enterprise and close its other open attempts."""
    now = timezone.now()
    locked.verification_status = VerificationStatus.VERIFIED
    locked.verified_at = now
    locked.verification_method = method
    locked.save(
        update_fields=[
            "verification_status",
            "verified_at",
            "verification_method",
            "updated_at",
        ]
    )
    EnterpriseVerification.objects.filter(
        enterprise=locked, status=AttemptStatus.PENDING
    ).exclude(pk=keep_pk).update(status=AttemptStatus.SUPERSEDED, updated_at=now)


def verification_code_wait_seconds(*, enterprise: Enterprise) -> int:
    """Seconds before another code may be requested (0: now)."""
    last = (
        EnterpriseVerification.objects.filter(
            enterprise=enterprise, method=VerificationMethod.REGISTERED_CONTACT_CODE
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return 0
    elapsed = (timezone.now() - last).total_seconds()
    return max(int(CODE_RESEND_SECONDS - elapsed + 0.999), 0)


def verification_code_check_send(*, enterprise: Enterprise, user: User) -> None:
    """May ``user`` have a code sent for ``enterprise`` now? Raises if not.

    Checked before the provider is asked, so a refused request sends nothing."""
    _require_owner(user=user, enterprise=enterprise)
    _require_unverified(enterprise)
    wait = verification_code_wait_seconds(enterprise=enterprise)
    if wait:
        raise TooManyAttempts(
            ngettext(
                "A code was just sent; you can request another in %(seconds)d second.",
                "A code was just sent; you can request another in %(seconds)d seconds.",
                wait,
            )
            % {"seconds": wait}
        )
    sent_today = EnterpriseVerification.objects.filter(
        enterprise=enterprise,
        method=VerificationMethod.REGISTERED_CONTACT_CODE,
        created_at__gte=timezone.now() - timedelta(days=1),
    ).count()
    if sent_today >= CODES_PER_DAY:
        raise TooManyAttempts(
            _(
                "%(count)d codes were sent in the last 24 hours; try again tomorrow or "
                "upload an authorization letter."
            )
            % {"count": sent_today}
        )


@transaction.atomic
def verification_code_record(
    *,
    enterprise: Enterprise,
    user: User,
    challenge_id: str,
    masked_contact: str,
    expires_at: datetime,
) -> EnterpriseVerification:
    """Keep the challenge the provider started; an older open code is superseded (only
    the newest code can be entered)."""
    _require_owner(user=user, enterprise=enterprise)
    locked = lock_objects.enterprise_lock(enterprise_pk=enterprise.pk)
    if locked.is_verified:
        raise EnterpriseAlreadyVerified(
            _("%(name)s is verified already.") % {"name": locked.name}
        )
    EnterpriseVerification.objects.filter(
        enterprise=locked,
        method=VerificationMethod.REGISTERED_CONTACT_CODE,
        status=AttemptStatus.PENDING,
    ).update(status=AttemptStatus.SUPERSEDED, updated_at=timezone.now())
    verification = EnterpriseVerification(
        enterprise=locked,
        method=VerificationMethod.REGISTERED_CONTACT_CODE,
        requested_by=user,
        provider_challenge_id=challenge_id[:100],
        masked_contact=masked_contact[:32],
        expires_at=expires_at,
    )
    verification.full_clean(exclude=["enterprise", "requested_by"])
    verification.save()
    return verification


def _code_failure_message(status: str) -> str:
    if status == AttemptStatus.LOCKED:
        return _(
            "Too many wrong codes: this code is locked. Request a new code or upload "
            "an authorization letter."
        )
    return _("The code has expired; request a new one.")


def _code_failure(
    verification: EnterpriseVerification, status: str, message: str | None = None
) -> NoReturn:
    """Close an attempt as ``status`` (committed) and raise the error that says so."""
    with transaction.atomic():
        locked = lock_objects.verification_lock(verification_pk=verification.pk)
        if locked.status == AttemptStatus.PENDING:
            locked.status = status
            if status == AttemptStatus.LOCKED:
                locked.failed_attempts = VERIFICATION_CODE_ATTEMPTS
            locked.save(update_fields=["status", "failed_attempts", "updated_at"])
    raise VerificationFailed(message or _code_failure_message(status), field="code")


def verification_code_pending(
    *, enterprise: Enterprise, user: User
) -> EnterpriseVerification:
    """The open code attempt ``user`` may now enter a code for.

    Refused, with the reason: not the owner, verified already, no code requested, the
    code expired (the attempt is closed as expired) or locked. Deliberately not one
    transaction: the closing of an expired attempt is kept although an error is
    raised."""
    _require_owner(user=user, enterprise=enterprise)
    _require_unverified(enterprise)
    verification = (
        EnterpriseVerification.objects.defer("letter_content")
        .filter(
            enterprise=enterprise,
            method=VerificationMethod.REGISTERED_CONTACT_CODE,
            status=AttemptStatus.PENDING,
        )
        .first()
    )
    if verification is None:
        last = (
            EnterpriseVerification.objects.filter(
                enterprise=enterprise,
                method=VerificationMethod.REGISTERED_CONTACT_CODE,
            )
            .exclude(status=AttemptStatus.SUPERSEDED)
            .first()
        )
        if last is not None and last.status in (
            AttemptStatus.EXPIRED,
            AttemptStatus.LOCKED,
        ):
            _code_failure(last, last.status)
        raise VerificationFailed(
            _("Request a code first: none is waiting to be entered."), field="code"
        )
    if verification.failed_attempts >= VERIFICATION_CODE_ATTEMPTS:
        _code_failure(verification, AttemptStatus.LOCKED)
    if verification.expires_at is None or verification.expires_at <= timezone.now():
        _code_failure(verification, AttemptStatus.EXPIRED)
    return verification


def verification_code_wrong(
    *, verification: EnterpriseVerification, attempts_remaining: int | None
) -> NoReturn:
    """The provider refused the code: count it (committed) and raise, saying how many
    tries are left. At none left, the attempt is locked."""
    with transaction.atomic():
        locked = lock_objects.verification_lock(verification_pk=verification.pk)
        if locked.status != AttemptStatus.PENDING:
            raise VerificationFailed(
                _("This code is no longer valid; request a new one."), field="code"
            )
        failed = locked.failed_attempts + 1
        if attempts_remaining is not None:
            # The provider counts; trust its count when it is ahead of ours.
            failed = max(failed, VERIFICATION_CODE_ATTEMPTS - attempts_remaining)
        locked.failed_attempts = min(failed, VERIFICATION_CODE_ATTEMPTS)
        locked.save(update_fields=["failed_attempts", "updated_at"])
    if locked.failed_attempts >= VERIFICATION_CODE_ATTEMPTS:
        _code_failure(locked, AttemptStatus.LOCKED)
    remaining = locked.attempts_remaining
    raise VerificationFailed(
        ngettext(
            "The code is wrong; %(count)d attempt is left.",
            "The code is wrong; %(count)d attempts are left.",
            remaining,
        )
        % {"count": remaining},
        field="code",
    )


def verification_code_expired(*, verification: EnterpriseVerification) -> NoReturn:
    """The provider says the code expired (or knows no such challenge): close it."""
    _code_failure(verification, AttemptStatus.EXPIRED)


def verification_code_used(*, verification: EnterpriseVerification) -> NoReturn:
    """The provider says the code was confirmed before: it cannot be used again."""
    _code_failure(
        verification,
        AttemptStatus.EXPIRED,
        _("This code was used already; request a new one."),
    )


def verification_code_locked(*, verification: EnterpriseVerification) -> NoReturn:
    _code_failure(verification, AttemptStatus.LOCKED)


@transaction.atomic
def verification_code_confirmed(
    *, verification: EnterpriseVerification, user: User
) -> Enterprise:
    """The provider accepted the code: the attempt is confirmed and the enterprise
    verified. A code is confirmed once: a second confirmation is refused."""
    _require_owner(user=user, enterprise=verification.enterprise)
    locked = lock_objects.enterprise_lock(enterprise_pk=verification.enterprise_id)
    attempt = lock_objects.verification_lock(verification_pk=verification.pk)
    if (
        attempt.status != AttemptStatus.PENDING
        or attempt.method != VerificationMethod.REGISTERED_CONTACT_CODE
    ):
        raise VerificationFailed(
            _("This code was used already; request a new one."), field="code"
        )
    if locked.is_verified:
        raise EnterpriseAlreadyVerified(
            _("%(name)s is verified already.") % {"name": locked.name}
        )
    attempt.status = AttemptStatus.CONFIRMED
    attempt.confirmed_at = timezone.now()
    attempt.save(update_fields=["status", "confirmed_at", "updated_at"])
    _mark_verified(
        locked=locked,
        method=VerificationMethod.REGISTERED_CONTACT_CODE,
        keep_pk=attempt.pk,
    )
    return locked


# Magic numbers of the accepted letter formats: the type is decided by the content,
# never by the name or the browser's claim.
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


def letter_content_type(content: bytes) -> str | None:
    """The letter's type from its content (PDF, JPEG, PNG), or ``None``.

    An image must also be one Pillow can read to the end; a PDF must end with its
    end-of-file marker. A renamed executable or a truncated upload is refused."""
    content_type = next(
        (kind for signature, kind in _SIGNATURES if content.startswith(signature)),
        None,
    )
    if content_type is None:
        return None
    if content_type == "application/pdf":
        return content_type if b"%%EOF" in content[-2048:] else None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format != _PILLOW_FORMATS[content_type]:
                return None
            image.verify()
    except Exception:  # Pillow raises many kinds for a broken file
        return None
    return content_type


def _letter_filename(filename: str) -> str:
    name = posixpath.basename(filename.replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>')
    return name[-200:] or "letter"


@transaction.atomic
def verification_letter_submit(
    *, enterprise: Enterprise, user: User, filename: str, content: bytes
) -> EnterpriseVerification:
    """The owner uploads an authorization letter (授权委托书) with the company seal:
    the enterprise waits for an operator's review. One letter waits at a time."""
    _require_owner(user=user, enterprise=enterprise)
    locked = lock_objects.enterprise_lock(enterprise_pk=enterprise.pk)
    if locked.is_verified:
        raise EnterpriseAlreadyVerified(
            _("%(name)s is verified already.") % {"name": locked.name}
        )
    if EnterpriseVerification.objects.filter(
        enterprise=locked,
        method=VerificationMethod.AUTHORIZATION_LETTER,
        status=AttemptStatus.PENDING,
    ).exists():
        raise VerificationFailed(
            _("A letter is already waiting for review; you will see the outcome here."),
            field="letter",
        )
    if not content:
        raise VerificationFailed(_("The file is empty."), field="letter")
    if len(content) > MAX_LETTER_BYTES:
        raise VerificationFailed(
            _("The file is larger than %(size)d MB.")
            % {"size": MAX_LETTER_BYTES // (1024 * 1024)},
            field="letter",
        )
    content_type = letter_content_type(content)
    if content_type is None:
        raise VerificationFailed(
            _(
                "The file must be a PDF, JPEG or PNG scan of the signed and sealed letter."
            ),
            field="letter",
        )
    verification = EnterpriseVerification(
        enterprise=locked,
        method=VerificationMethod.AUTHORIZATION_LETTER,
        requested_by=user,
        letter_content=content,
        letter_filename=_letter_filename(filename),
        letter_content_type=content_type,
        letter_size=len(content),
        letter_sha256=hashlib.sha256(content).hexdigest(),
    )
    verification.full_clean(exclude=["enterprise", "requested_by", "letter_content"])
    verification.save()
    locked.verification_status = VerificationStatus.PENDING_REVIEW
    locked.save(update_fields=["verification_status", "updated_at"])
    return verification


def _require_operator(user: User) -> None:
    if membership_for(user=user, kind=OrganizationKind.PLATFORM) is None:
        raise NotOperator(
            _("Only platform operators may review authorization letters.")
        )


@transaction.atomic
def verification_letter_review(
    *,
    verification: EnterpriseVerification,
    reviewer: User,
    approve: bool,
    reason: str = "",
) -> EnterpriseVerification:
    """An operator approves a letter (the enterprise is verified) or rejects it with
    the reason the enterprise is shown (it is unverified again and may try again)."""
    _require_operator(reviewer)
    reason = reason.strip()
    if not approve and not reason:
        raise VerificationFailed(
            _("Give the reason for the rejection; the enterprise is shown it."),
            field="reason",
        )
    locked = lock_objects.enterprise_lock(enterprise_pk=verification.enterprise_id)
    attempt = lock_objects.verification_lock(verification_pk=verification.pk)
    if (
        attempt.method != VerificationMethod.AUTHORIZATION_LETTER
        or attempt.status != AttemptStatus.PENDING
    ):
        raise VerificationFailed(_("This letter is no longer waiting for review."))
    now = timezone.now()
    attempt.reviewed_by = reviewer
    attempt.reviewed_at = now
    if approve:
        attempt.status = AttemptStatus.CONFIRMED
        attempt.confirmed_at = now
    else:
        attempt.status = AttemptStatus.REJECTED
        attempt.rejection_reason = reason[:500]
    attempt.save(
        update_fields=[
            "status",
            "confirmed_at",
            "reviewed_by",
            "reviewed_at",
            "rejection_reason",
            "updated_at",
        ]
    )
    if approve:
        _mark_verified(
            locked=locked,
            method=VerificationMethod.AUTHORIZATION_LETTER,
            keep_pk=attempt.pk,
        )
    elif locked.verification_status == VerificationStatus.PENDING_REVIEW:
        locked.verification_status = VerificationStatus.UNVERIFIED
        locked.save(update_fields=["verification_status", "updated_at"])
    return attempt


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
        # An English notice names the grantee in English and by its registered
        # (Chinese) name, which is the one that binds.
        grantee_name=(
            f"{grantee.name_en} ({grantee.name})"
            if language == "en" and grantee.name_en
            else grantee.name
        ),
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
    if the notice changed in between (a new version, other terms), nothing is granted.

    Only a verified enterprise grants anything (``EnterpriseNotVerified``): whoever
    registered a USCC must first prove to act for it."""
    _require_owner(user=granted_by, enterprise=enterprise)
    _require_verified(enterprise)
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


@transaction.atomic
def authorization_end(*, authorization_pk: int, reason: str) -> CreditAuthorization:
    """End a consent because what it was given for is over (the loan application it
    covers was decided or withdrawn): effective on the very next read, like a
    revocation, but by the platform, so no owner check and no notice to the grantee
    (who learns of the application's end from the application itself). Idempotent."""
    locked = lock_objects.authorization_lock(authorization_pk=authorization_pk)
    if locked.revoked_at is not None:
        return locked
    locked.revoked_at = max(timezone.now(), locked.granted_at)
    locked.revoke_reason = reason.strip()[:500]
    locked.save(update_fields=["revoked_at", "revoke_reason", "updated_at"])
    return locked
