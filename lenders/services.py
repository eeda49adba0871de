"""Writes about lenders and their loan products."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
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
    LoanProductVersion,
    ProductStatus,
    ProductTransition,
    WebhookEndpoint,
)

PRODUCT_FIELDS = (
    "code",
    "name",
    "description",
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
) -> LoanProduct:
    """Change a product's terms. A listed product's change is a new version at once."""
    locked = lock_objects.product_lock(product_pk=product.pk)
    if actor_role(user=actor, lender=locked.lender) != lifecycle.LENDER_ADMIN:
        raise NotPermitted(_("Only the bank's administrators manage its products."))
    if locked.status not in lifecycle.EDITABLE:
        raise TransitionNotAllowed(
            _("A product under review cannot be edited; withdraw it first.")
        )
    for name, value in data.items():
        if name in PRODUCT_FIELDS and name != "code":
            setattr(locked, name, value)
    _validate(locked)
    _check_places(regions, industries)
    locked.save()
    _set_places(locked, regions, industries)
    if locked.status == ProductStatus.LISTED:
        _snapshot(locked, actor)
    return locked


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
    """Create the bank's endpoint (with a new secret) or change its URL; a rotation
    gives it a new secret, and deliveries from then on are signed with it.

    A URL whose host is not on the public internet, or does not resolve, is refused
    (``netguard.UnsafeDestination`` on ``url``) and nothing is saved.
    """
    if actor_role(user=actor, lender=lender) != lifecycle.LENDER_ADMIN:
        raise NotPermitted(
            _("Only the bank's administrators manage the webhook endpoint.")
        )
    netguard.resolve_public_url(url, field="url")
    endpoint = WebhookEndpoint.objects.select_for_update().filter(lender=lender).first()
    if endpoint is None:
        return WebhookEndpoint.objects.create(
            lender=lender, url=url, secret=webhooks.new_secret()
        )
    endpoint.url = url
    if rotate_secret:
        endpoint.secret = webhooks.new_secret()
    endpoint.save(update_fields=["url", "secret", "updated_at"])
    return endpoint
