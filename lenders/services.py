"""Writes about lenders and their loan products.

A listed product is what SMEs compare and apply for, and the platform vouches for it:
its reviewed terms change only through a ``LoanProductRevision`` an operator approves
(``product_update`` proposes, ``product_revision_decide`` decides). The fields in
``lifecycle.REVIEW_EXEMPT_FIELDS`` apply at once. A draft or delisted product is not
public, so its edits apply at once too; it is reviewed as a whole when submitted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, OrganizationKind, Role, User
from accounts.selectors import user_memberships
from core import netguard
from lenders import lifecycle, lock_objects, webhooks
from lenders.exceptions import InvalidProduct, NotPermitted, TransitionNotAllowed
from lenders.models import (
    Branch,
    Lender,
    LoanProduct,
    LoanProductDistrict,
    LoanProductIndustry,
    LoanProductRevision,
    LoanProductVersion,
    ProductStatus,
    ProductTransition,
    RevisionStatus,
    WebhookEndpoint,
)

PRODUCT_FIELDS = (
    "code",
    "name",
    "name_en",
    "description",
    "description_en",
    "product_type",
    "guarantee_type",
    "amount_min",
    "amount_max",
    "term_min",
    "term_max",
    "rate_min",
    "rate_max",
    "repayment_method",
    "min_grade",
    "min_years_in_business",
    "min_tax_credit_grade",
    "excludes_dishonest_debtors",
    "excludes_unrepaired_serious_penalty",
    "required_categories",
    "pure_credit",
    "fully_online",
    "fast_approval",
    "interest_subsidy",
    "risk_compensation",
    "government_guarantee",
    "response_days",
)

#: The keys of ``LoanProduct.terms()`` a listed product changes only through review:
#: every term but its code (never changed) and the exempt presentation fields.
REVIEWED_TERMS: tuple[str, ...] = (
    *(
        name
        for name in PRODUCT_FIELDS
        if name != "code" and name not in lifecycle.REVIEW_EXEMPT_FIELDS
    ),
    "regions",
    "industries",
)


@dataclass(frozen=True)
class ProductChange:
    """What an edit did: the product (as it now is), and the pending revision that
    holds the edit's reviewed terms (``None`` when everything applied at once)."""

    product: LoanProduct
    revision: LoanProductRevision | None = None


def actor_role(*, user: User | None, lender: Lender) -> str | None:
    """``lender_admin``, ``operator`` or None: what this user may do to the lender's products."""
    if user is None:
        return None
    for membership in user_memberships(user=user):
        if membership.organization.kind == OrganizationKind.PLATFORM:
            return lifecycle.OPERATOR
        if (
            membership.organization_id == lender.organization_id
            and membership.role == Role.ADMIN
        ):
            return lifecycle.LENDER_ADMIN
    return None


@transaction.atomic
def lender_onboard(
    *,
    organization: Organization,
    name: str,
    short_name: str,
    licence_number: str = "",
    head_office_address: str = "",
) -> Lender:
    if organization.kind != OrganizationKind.LENDER:
        raise NotPermitted(_("Only a lender organization can be onboarded as a bank."))
    lender = Lender(
        organization=organization,
        name=name.strip(),
        short_name=short_name.strip(),
        licence_number=licence_number.strip(),
        head_office_address=head_office_address.strip(),
    )
    lender.full_clean()
    lender.save()
    return lender


def _validate(product: LoanProduct) -> None:
    try:
        product.full_clean(exclude=["lender"] if product.lender_id is None else None)
    except ValidationError as error:
        raise InvalidProduct(
            {
                field: [str(m) for m in messages]
                for field, messages in error.message_dict.items()
            }
        ) from None


def _set_places(
    product: LoanProduct,
    regions: Iterable[str] | None,
    industries: Iterable[str] | None,
) -> None:
    """Replace the product's districts / industries (``None`` leaves them as they are)."""
    if regions is not None:
        product.districts.all().delete()
        LoanProductDistrict.objects.bulk_create(
            LoanProductDistrict(product=product, district=d)
            for d in sorted(set(regions))
        )
    if industries is not None:
        product.industries.all().delete()
        LoanProductIndustry.objects.bulk_create(
            LoanProductIndustry(product=product, industry=i)
            for i in sorted(set(industries))
        )


def _snapshot(product: LoanProduct, actor: User | None) -> LoanProductVersion:
    product.current_version += 1
    product.save(update_fields=["current_version", "updated_at"])
    return LoanProductVersion.objects.create(
        product=product,
        version=product.current_version,
        terms=product.terms(),
        created_by=actor,
    )


@transaction.atomic
def product_create(
    *,
    lender: Lender,
    actor: User,
    data: dict,
    regions: Iterable[str] = (),
    industries: Iterable[str] = (),
) -> LoanProduct:
    if actor_role(user=actor, lender=lender) != lifecycle.LENDER_ADMIN:
        raise NotPermitted(_("Only the bank's administrators manage its products."))
    product = LoanProduct(
        lender=lender, **{k: v for k, v in data.items() if k in PRODUCT_FIELDS}
    )
    if LoanProduct.objects.filter(lender=lender, code=product.code).exists():
        raise InvalidProduct(
            {"code": [_("You already have a product with this code.")]}
        )
    _validate(product)
    _check_places(regions, industries)
    product.save()
    _set_places(product, regions, industries)
    return product


def _check_places(regions, industries) -> None:
    # Validate before anything is written, so a bad code leaves no half-saved product.
    from core.codes import DISTRICTS, INDUSTRIES

    errors = {}
    if regions is not None and set(regions) - set(DISTRICTS):
        errors["regions"] = [
            _("Unknown district codes: %(codes)s.")
            % {"codes": ", ".join(sorted(set(regions) - set(DISTRICTS)))}
        ]
    if industries is not None and set(industries) - set(INDUSTRIES):
        errors["industries"] = [
            _("Unknown industry codes: %(codes)s.")
            % {"codes": ", ".join(sorted(set(industries) - set(INDUSTRIES)))}
        ]
    if errors:
        raise InvalidProduct(errors)


@transaction.atomic
def product_update(
    *,
    product: LoanProduct,
    actor: User,
    data: dict,
    regions: Iterable[str] | None = None,
    industries: Iterable[str] | None = None,
) -> ProductChange:
    """Change a product's terms (``None`` places stay as they are).

    A draft or delisted product changes at once. A listed product's exempt fields
    change at once (a new version); its reviewed terms go to a pending revision and
    the listed terms stay live until an operator approves it. Everything is checked
    first, as the product would be: a refused edit changes nothing.
    """
    locked = lock_objects.product_lock(product_pk=product.pk)
    if actor_role(user=actor, lender=locked.lender) != lifecycle.LENDER_ADMIN:
        raise NotPermitted(_("Only the bank's administrators manage its products."))
    if locked.status not in lifecycle.EDITABLE:
        raise TransitionNotAllowed(
            _("A product under review cannot be edited; withdraw it first.")
        )
    if locked.status == ProductStatus.LISTED:
        return _listed_product_update(
            locked, actor=actor, data=data, regions=regions, industries=industries
        )
    for name, value in data.items():
        if name in PRODUCT_FIELDS and name != "code":
            setattr(locked, name, value)
    _validate(locked)
    _check_places(regions, industries)
    locked.save()
    _set_places(locked, regions, industries)
    return ProductChange(product=locked)


def _pending_revision(product: LoanProduct) -> LoanProductRevision | None:
    """The product's pending revision, locked (the product row is locked first)."""
    return (
        LoanProductRevision.objects.select_for_update()
        .filter(product=product, status=RevisionStatus.PENDING)
        .first()
    )


def _apply_terms(product: LoanProduct, terms: dict[str, Any], names: Iterable[str]):
    """Set ``names`` from a terms snapshot (JSON values) on the product, typed as its
    columns are (``"3.45"`` → ``Decimal``). Places are not columns: skipped."""
    for name in names:
        if name in ("regions", "industries") or name not in terms:
            continue
        field = LoanProduct._meta.get_field(name)
        assert isinstance(field, models.Field)  # a column, not a relation
        setattr(product, name, field.to_python(terms[name]))


def _listed_product_update(
    locked: LoanProduct,
    *,
    actor: User,
    data: dict,
    regions: Iterable[str] | None,
    industries: Iterable[str] | None,
) -> ProductChange:
    pending = _pending_revision(locked)
    live = locked.terms()
    # The edit applies on top of what the bank last asked for: the pending proposal
    # if there is one (so two PATCHes propose both changes), else the listed terms.
    base = pending.proposed if pending is not None else live
    edit = {
        name: value
        for name, value in data.items()
        if name in PRODUCT_FIELDS and name != "code"
    }
    wanted_regions = sorted(set(regions)) if regions is not None else base["regions"]
    wanted_industries = (
        sorted(set(industries)) if industries is not None else base["industries"]
    )
    # The whole product as it would be, validated before anything is written.
    candidate = LoanProduct.objects.get(pk=locked.pk)
    candidate.lender = locked.lender
    _apply_terms(candidate, base, REVIEWED_TERMS)
    for name, value in edit.items():
        setattr(candidate, name, value)
    _validate(candidate)
    _check_places(wanted_regions, wanted_industries)
    proposed = candidate.terms(regions=wanted_regions, industries=wanted_industries)

    exempt = [
        name
        for name in lifecycle.REVIEW_EXEMPT_FIELDS
        if name in edit and getattr(locked, name) != getattr(candidate, name)
    ]
    if exempt:
        for name in exempt:
            setattr(locked, name, getattr(candidate, name))
        locked.save()
        _snapshot(locked, actor)
    touched_reviewed = bool(
        set(edit) - lifecycle.REVIEW_EXEMPT_FIELDS
        or regions is not None
        or industries is not None
    )
    if all(proposed[name] == live[name] for name in REVIEWED_TERMS):
        # The reviewed terms are (back to) the listed ones: nothing to review.
        if pending is not None:
            pending.status = RevisionStatus.WITHDRAWN
            pending.save(update_fields=["status", "updated_at"])
        return ProductChange(product=locked)
    # Presentation fields in the proposal follow the live row (they are not reviewed).
    proposed.update(
        {name: getattr(locked, name) for name in lifecycle.REVIEW_EXEMPT_FIELDS}
    )
    if pending is None:
        pending = LoanProductRevision.objects.create(
            product=locked,
            base_version=locked.current_version,
            proposed=proposed,
            proposed_by=actor,
        )
    elif pending.proposed != proposed:
        if any(pending.proposed.get(n) != proposed[n] for n in REVIEWED_TERMS):
            pending.edits += 1
            pending.proposed_by = actor
        pending.proposed = proposed
        pending.save()
    return ProductChange(product=locked, revision=pending if touched_reviewed else None)


@transaction.atomic
def product_transition(
    *, product: LoanProduct, action: str, actor: User, comment: str = ""
) -> LoanProduct:
    transition = lifecycle.TRANSITIONS.get(action)
    if transition is None:
        raise TransitionNotAllowed(
            _("Unknown action “%(action)s”.") % {"action": action}
        )
    locked = lock_objects.product_lock(product_pk=product.pk)
    role = actor_role(user=actor, lender=locked.lender)
    if role not in transition.actors:
        raise NotPermitted(
            _("You may not do “%(action)s” on this product.")
            % {"action": transition.label}
        )
    if locked.status not in transition.sources:
        raise TransitionNotAllowed(
            _("“%(action)s” is not possible for a product that is “%(status)s”.")
            % {"status": locked.get_status_display(), "action": transition.label}
        )
    comment = comment.strip()
    if transition.needs_comment and not comment:
        raise TransitionNotAllowed(_("Say what the bank must change."), field="comment")
    now = timezone.now()
    previous = locked.status
    locked.status = transition.target
    if action == "submit":
        locked.submitted_at = now
    if action in ("approve", "return"):
        locked.reviewed_at, locked.reviewed_by, locked.review_comment = (
            now,
            actor,
            comment,
        )
    if action == "approve":
        locked.listed_at = now
    locked.save()
    if action == "delist":
        # A change to a product that is no longer listed has nothing to apply to; the
        # bank edits it freely now and it is reviewed as a whole when resubmitted.
        LoanProductRevision.objects.filter(
            product=locked, status=RevisionStatus.PENDING
        ).update(status=RevisionStatus.WITHDRAWN, updated_at=now)
    ProductTransition.objects.create(
        product=locked,
        action=action,
        from_status=previous,
        to_status=locked.status,
        actor=actor,
        comment=comment,
    )
    if action == "approve":
        version = _snapshot(locked, actor)
        webhooks.event_emit(
            lender=locked.lender,
            event_type="product.approved",
            data={"product": locked.code, "version": version.version},
        )
    elif action == "return":
        webhooks.event_emit(
            lender=locked.lender,
            event_type="product.returned",
            data={"product": locked.code, "comment": comment},
        )
    return locked


@transaction.atomic
def product_revision_decide(
    *,
    revision: LoanProductRevision,
    action: str,
    actor: User,
    comment: str = "",
    expected_edits: int | None = None,
) -> LoanProductRevision:
    """An operator approves a pending change of a listed product, or returns it to
    the bank with a note (``action``: ``approve`` / ``return``).

    Approval applies the proposed terms to the live product under its row lock,
    checked again by today's rules (a cap may have been lowered since), and stores
    them as a new version; both decisions write a history row and notify the bank
    after commit. ``expected_edits`` is the ``edits`` count the operator read: if
    the bank changed the proposal since, nothing is decided and they must re-read.
    """
    decision = lifecycle.REVISION_DECISIONS.get(action)
    if decision is None:
        raise TransitionNotAllowed(
            _("Unknown action “%(action)s”.") % {"action": action}
        )
    product = lock_objects.product_lock(product_pk=revision.product_id)
    locked = LoanProductRevision.objects.select_for_update().get(pk=revision.pk)
    if actor_role(user=actor, lender=product.lender) not in lifecycle.REVISION_DECIDERS:
        raise NotPermitted(
            _("You may not do “%(action)s” on this product.")
            % {"action": decision.label}
        )
    if locked.status != RevisionStatus.PENDING or (
        product.status != ProductStatus.LISTED
    ):
        raise TransitionNotAllowed(
            _("This change is no longer waiting for review (it is “%(status)s”).")
            % {"status": locked.get_status_display()}
        )
    if expected_edits is not None and expected_edits != locked.edits:
        raise TransitionNotAllowed(
            _("The bank changed this proposal after you opened it; review it again.")
        )
    comment = comment.strip()
    if decision.needs_comment and not comment:
        raise TransitionNotAllowed(_("Say what the bank must change."), field="comment")
    now = timezone.now()
    if action == "approve":
        _apply_terms(product, locked.proposed, REVIEWED_TERMS)
        _validate(product)
        _check_places(locked.proposed["regions"], locked.proposed["industries"])
        product.reviewed_at, product.reviewed_by = now, actor
        product.save()
        _set_places(product, locked.proposed["regions"], locked.proposed["industries"])
        locked.version = _snapshot(product, actor)
    locked.status = decision.target
    locked.decided_by, locked.decided_at, locked.operator_note = actor, now, comment
    locked.full_clean()
    locked.save()
    ProductTransition.objects.create(
        product=product,
        action=f"{action}_revision",
        from_status=product.status,
        to_status=product.status,
        actor=actor,
        comment=comment,
    )
    if action == "approve":
        webhooks.event_emit(
            lender=product.lender,
            event_type="product.approved",
            data={
                "product": product.code,
                "version": product.current_version,
                "revision": locked.pk,
            },
        )
    else:
        webhooks.event_emit(
            lender=product.lender,
            event_type="product.revision_returned",
            data={"product": product.code, "revision": locked.pk, "comment": comment},
        )
    return locked


@transaction.atomic
def branch_save(
    *, lender: Lender, actor: User, data: dict, branch: Branch | None = None
) -> Branch:
    """Create or change a branch and the districts it serves (bank admins only)."""
    if actor_role(user=actor, lender=lender) != lifecycle.LENDER_ADMIN:
        raise NotPermitted(_("Only the bank's administrators manage its branches."))
    branch = branch or Branch(lender=lender)
    branch.name = data["name"].strip()
    branch.districts = sorted(set(data["districts"]))
    branch.address = data.get("address", "").strip()
    branch.phone = data.get("phone", "").strip()
    try:
        branch.full_clean()
    except ValidationError as error:
        raise InvalidProduct(
            {f: [str(m) for m in ms] for f, ms in error.message_dict.items()}
        ) from None
    branch.save()
    return branch


@transaction.atomic
def branch_delete(*, branch: Branch, actor: User) -> None:
    if actor_role(user=actor, lender=branch.lender) != lifecycle.LENDER_ADMIN:
        raise NotPermitted(_("Only the bank's administrators manage its branches."))
    branch.delete()


@transaction.atomic
def webhook_endpoint_save(
    *, lender: Lender, url: str, rotate_secret: bool, actor: User
) -> WebhookEndpoint:
    """``webhook_endpoint_configure`` for callers that do not show the secret."""
    endpoint, _issued = webhook_endpoint_configure(
        lender=lender, url=url, rotate_secret=rotate_secret, actor=actor
    )
    return endpoint


@transaction.atomic
def webhook_endpoint_configure(
    *, lender: Lender, url: str, rotate_secret: bool, actor: User
) -> tuple[WebhookEndpoint, str | None]:
    """Create the bank's endpoint (with a new secret) or change its URL; a rotation
    gives it a new secret, and deliveries from then on are signed with it.

    Returns the endpoint and the secret this call issued (None when it kept the old
    one): the portal shows a secret only then, once, to the administrator who asked.
    A URL whose host is not on the public internet, or does not resolve, is refused
    (``netguard.UnsafeDestination`` on ``url``) and nothing is saved.
    """
    if actor_role(user=actor, lender=lender) != lifecycle.LENDER_ADMIN:
        raise NotPermitted(
            _("Only the bank's administrators manage the webhook endpoint.")
        )
    netguard.resolve_public_url(url, field="url")
    # The old secret is not decrypted: a rotation replaces it even if no key opens it.
    endpoint = (
        WebhookEndpoint.objects.select_for_update()
        .filter(lender=lender)
        .defer("secret")
        .first()
    )
    if endpoint is None:
        secret = webhooks.new_secret()
        endpoint = WebhookEndpoint.objects.create(
            lender=lender, url=url, secret=secret, secret_created_at=timezone.now()
        )
        return endpoint, secret
    endpoint.url = url
    fields: list[str] = ["url", "updated_at"]
    issued: str | None = None
    if rotate_secret:
        issued = endpoint.secret = webhooks.new_secret()
        endpoint.secret_created_at = timezone.now()
        fields += ["secret", "secret_created_at"]
    endpoint.save(update_fields=fields)
    return endpoint, issued
