"""Writes about organizations, memberships and invitations (and the re-encryption of
the staff's stored MFA secrets)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import lock_objects
from accounts.exceptions import AlreadyMember, InvalidRole, InvitationAlreadyOpen
from accounts.models import (
    ROLES_BY_KIND,
    Invitation,
    Membership,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from core import crypto, jobs

INVITATION_VALIDITY = timedelta(days=14)


#: Wagtail's own groups, created by its migrations, that give promotion-office staff
#: the CMS rights of their role (editors draft, reviewers moderate and publish).
CMS_GROUP_BY_ROLE: dict[str, str] = {
    Role.EDITOR: "Editors",
    Role.REVIEWER: "Moderators",
}


def _grant_role_side_effects(membership: Membership) -> None:
    if membership.organization.kind == OrganizationKind.PROMOTION_OFFICE:
        from django.contrib.auth.models import Group

        group = Group.objects.filter(name=CMS_GROUP_BY_ROLE[membership.role]).first()
        if group is not None:
            membership.user.groups.add(group)


def _check_role(*, organization: Organization, role: str) -> None:
    if role not in ROLES_BY_KIND[organization.kind]:
        raise InvalidRole(
            _("The role “%(role)s” does not exist in a %(kind)s.")
            % {"role": role, "kind": organization.get_kind_display()},
            field="role",
        )


@transaction.atomic
def organization_create(*, kind: str, name: str, name_en: str = "") -> Organization:
    """A new organization; ``name_en`` is its optional English name (English pages
    show it, and the Chinese name where it is empty)."""
    organization = Organization(kind=kind, name=name.strip(), name_en=name_en.strip())
    organization.full_clean()
    organization.save()
    return organization


@transaction.atomic
def organization_name_en_set(
    *, organization: Organization, name_en: str
) -> Organization:
    """Give an existing organization (the platform, made by a migration) its English
    name, or clear it with ``""``."""
    organization.name_en = name_en.strip()
    organization.full_clean()
    organization.save(update_fields=["name_en", "updated_at"])
    return organization


@transaction.atomic
def membership_create(
    *, user: User, organization: Organization, role: str
) -> Membership:
    _check_role(organization=organization, role=role)
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise AlreadyMember(
            _("%(email)s is already a member of %(organization)s.")
            % {"email": user.email, "organization": organization.name},
            field="email",
        )
    membership = Membership(user=user, organization=organization, role=role)
    membership.full_clean()
    membership.save()
    _grant_role_side_effects(membership)
    return membership


@transaction.atomic
def invitation_create(
    *, organization: Organization, email: str, role: str, invited_by: User | None
) -> Invitation:
    """Invite ``email`` to ``organization``; the email is sent after commit."""
    from accounts.tasks import send_invitation_email

    email = email.strip().lower()
    _check_role(organization=organization, role=role)
    if Membership.objects.filter(organization=organization, user__email=email).exists():
        raise AlreadyMember(
            _("%(email)s is already a member of %(organization)s.")
            % {"email": email, "organization": organization.name},
            field="email",
        )
    # Lock the organization row so two admins inviting the same address at once
    # cannot both pass the check below.
    lock_objects.organization_lock(organization_pk=organization.pk)
    open_invitations = Invitation.objects.filter(
        organization=organization,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    )
    now = timezone.now()
    # An expired invitation is closed so a fresh one may be sent.
    open_invitations.filter(expires_at__lte=now).update(revoked_at=now)
    if open_invitations.filter(expires_at__gt=now).exists():
        raise InvitationAlreadyOpen(
            _("An invitation for %(email)s is already pending.") % {"email": email},
            field="email",
        )
    invitation = Invitation(
        organization=organization,
        email=email,
        role=role,
        invited_by=invited_by,
        expires_at=now + INVITATION_VALIDITY,
    )
    invitation.full_clean()
    invitation.save()
    jobs.enqueue(send_invitation_email, invitation.pk)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> Invitation:
    invitation = lock_objects.invitation_lock(invitation_pk=invitation.pk)
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
    return invitation


@transaction.atomic
def invitations_accept_for_user(*, user: User) -> list[Membership]:
    """Turn every open invitation to one of the user's *verified* emails into a role.

    Called at each login. Holding the mailbox is the proof, which mandatory email
    verification has just established.
    """
    from allauth.account.models import EmailAddress

    verified = [
        address.lower()
        for address in EmailAddress.objects.filter(
            user=user, verified=True
        ).values_list("email", flat=True)
    ]
    if not verified:
        return []
    now = timezone.now()
    invitations = lock_objects.invitations_lock(
        Invitation.objects.filter(
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
            email__in=verified,
        )
    )
    created: list[Membership] = []
    for invitation in invitations:
        membership, was_created = Membership.objects.get_or_create(
            user=user,
            organization=invitation.organization,
            defaults={"role": invitation.role},
        )
        if was_created:
            _grant_role_side_effects(membership)
            created.append(membership)
        invitation.accepted_at = now
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    if created and hasattr(user, "_membership_cache"):
        del user._membership_cache
    return created


def invitations_purge_expired() -> int:
    """Close invitations whose validity has passed; returns how many were closed."""
    now = timezone.now()
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now
    ).update(revoked_at=now)


#: The values allauth encrypts inside ``Authenticator.data`` (through
#: ``adapters.MFAAdapter``): single values, and lists of values.
MFA_ENCRYPTED_KEYS = ("secret", "seed")
MFA_ENCRYPTED_LISTS = ("migrated_codes",)


def mfa_secrets_reencrypt(*, check_only: bool = False) -> crypto.RotationReport:
    """Re-encrypt every stored TOTP / recovery-code seed under the first key.

    Each authenticator is locked while its JSON is rewritten, so a recovery code
    used at the same moment (allauth locks the row too) is not lost. With
    ``check_only`` nothing is written: the report says what would be re-encrypted.
    """
    from allauth.mfa.models import Authenticator

    report = crypto.RotationReport(store="mfa.Authenticator.data")
    for pk in Authenticator.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            authenticator = Authenticator.objects.select_for_update().get(pk=pk)
            where = f"mfa.Authenticator.data (pk={pk})"
            data, changed = dict(authenticator.data), False
            for key in MFA_ENCRYPTED_KEYS:
                if data.get(key):
                    new = crypto.rotate_token(report, data[key], where)
                    if new is not None:
                        data[key], changed = new, True
            for key in MFA_ENCRYPTED_LISTS:
                values = list(data.get(key) or [])
                for index, value in enumerate(values):
                    new = crypto.rotate_token(report, value, where)
                    if new is not None:
                        values[index], changed = new, True
                if values:
                    data[key] = values
            if changed and not check_only:
                Authenticator.objects.filter(pk=pk).update(data=data)
    return report
