"""Product lifecycle, range constraints and versions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Role
from accounts.selectors import platform_organization
from lenders import services
from lenders.exceptions import InvalidProduct, NotPermitted, TransitionNotAllowed
from lenders.models import (
    LoanProduct,
    LoanProductVersion,
    ProductStatus,
    ProductTransition,
)
from tests.factories import MembershipFactory
from tests.factories.lenders import LoanProductFactory, lender_with_staff

pytestmark = pytest.mark.django_db

VALID = {
    "code": "kc-1",
    "name": "科创信用贷",
    "product_type": "credit",
    "guarantee_type": "none",
    "amount_min": Decimal("100000"),
    "amount_max": Decimal("3000000"),
    "term_min": 3,
    "term_max": 36,
    "rate_min": Decimal("3.45"),
    "rate_max": Decimal("6.00"),
    "repayment_method": "equal_instalment",
    "response_days": 3,
    "pure_credit": True,
}


@pytest.fixture
def operator():
    return MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user


def test_full_lifecycle_with_versions(operator):
    lender, admin, _reviewer = lender_with_staff()
    product = services.product_create(
        lender=lender,
        actor=admin,
        data=VALID,
        regions=["440305"],
        industries=["I", "M"],
    )
    assert product.status == ProductStatus.DRAFT
    product = services.product_transition(product=product, action="submit", actor=admin)
    assert product.status == ProductStatus.PENDING_REVIEW
    product = services.product_transition(
        product=product, action="approve", actor=operator
    )
    assert (product.status, product.current_version, product.reviewed_by) == (
        ProductStatus.LISTED,
        1,
        operator,
    )
    # A listed product's change is a revision; approved, it is the next version.
    change = services.product_update(
        product=product, actor=admin, data={"rate_max": Decimal("5.80")}
    )
    services.product_revision_decide(
        revision=change.revision, action="approve", actor=operator
    )
    versions = list(
        LoanProductVersion.objects.filter(product=product).order_by("version")
    )
    assert [(v.version, v.terms["rate_max"]) for v in versions] == [
        (1, "6.00"),
        (2, "5.80"),
    ]
    assert versions[0].terms["regions"] == ["440305"] and versions[0].terms[
        "industries"
    ] == ["I", "M"]
    product = services.product_transition(product=product, action="delist", actor=admin)
    assert product.status == ProductStatus.DELISTED
    assert list(
        ProductTransition.objects.filter(product=product).values_list(
            "action", flat=True
        )
    ) == ["submit", "approve", "approve_revision", "delist"]


def test_return_requires_a_comment_and_goes_back_to_draft(operator):
    lender, admin, _ = lender_with_staff()
    product = services.product_create(lender=lender, actor=admin, data=VALID)
    services.product_transition(product=product, action="submit", actor=admin)
    with pytest.raises(TransitionNotAllowed):
        services.product_transition(
            product=product, action="return", actor=operator, comment="  "
        )
    product.refresh_from_db()
    assert product.status == ProductStatus.PENDING_REVIEW
    product = services.product_transition(
        product=product, action="return", actor=operator, comment="利率区间请写明"
    )
    assert (product.status, product.review_comment) == (
        ProductStatus.DRAFT,
        "利率区间请写明",
    )


@pytest.mark.parametrize(
    ("who", "action", "status"),
    [
        ("admin", "approve", ProductStatus.PENDING_REVIEW),  # a bank cannot list itself
        (
            "reviewer",
            "submit",
            ProductStatus.DRAFT,
        ),  # reviewers handle applications only
        (
            "operator",
            "submit",
            ProductStatus.DRAFT,
        ),  # the platform does not submit for banks
        ("other_admin", "submit", ProductStatus.DRAFT),  # another bank's admin
    ],
)
def test_only_the_right_roles_may_transition(operator, who, action, status):
    lender, admin, reviewer = lender_with_staff()
    _other_lender, other_admin, _ = lender_with_staff()
    product = LoanProductFactory(lender=lender, status=status)
    actor = {
        "admin": admin,
        "reviewer": reviewer,
        "operator": operator,
        "other_admin": other_admin,
    }[who]
    with pytest.raises(NotPermitted):
        services.product_transition(product=product, action=action, actor=actor)
    product.refresh_from_db()
    assert product.status == status
    assert ProductTransition.objects.count() == 0


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (ProductStatus.DRAFT, "approve"),
        (ProductStatus.DRAFT, "delist"),
        (ProductStatus.LISTED, "submit"),
        (ProductStatus.LISTED, "approve"),
        (ProductStatus.DELISTED, "delist"),
        (ProductStatus.PENDING_REVIEW, "submit"),
    ],
)
def test_only_permitted_transitions(operator, status, action):
    lender, admin, _ = lender_with_staff()
    product = LoanProductFactory(lender=lender, status=status)
    actor = operator if action == "approve" else admin
    with pytest.raises(TransitionNotAllowed):
        services.product_transition(product=product, action=action, actor=actor)
    product.refresh_from_db()
    assert product.status == status


def test_a_product_under_review_cannot_be_edited():
    lender, admin, _ = lender_with_staff()
    product = LoanProductFactory(lender=lender, status=ProductStatus.PENDING_REVIEW)
    with pytest.raises(TransitionNotAllowed):
        services.product_update(product=product, actor=admin, data={"name": "改名"})
    product.refresh_from_db()
    assert product.name != "改名"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"amount_min": Decimal("5000000")},
            "amount_max",
            "The maximum must not be below the minimum.",
        ),
        ({"term_min": 48}, "term_max", "The maximum must not be below the minimum."),
        (
            {"rate_min": Decimal("7.00")},
            "rate_max",
            "The maximum must not be below the minimum.",
        ),
        ({"amount_min": Decimal("-1")}, "amount_min", "Must be greater than zero."),
        ({"rate_min": Decimal("0")}, "rate_min", "Must be greater than zero."),
        (
            {"rate_max": Decimal("24.01")},
            "rate_max",
            "Above the legal cap of 24.00% a year.",
        ),
        (
            {"name": "x" * 121},
            "name",
            "Ensure this value has at most 120 characters (it has 121).",
        ),
        (
            {"response_days": 0},
            "response_days",
            "Ensure this value is greater than or equal to 1.",
        ),
    ],
)
def test_bad_ranges_are_field_errors_and_nothing_is_saved(changes, field, message):
    from django.utils import translation

    lender, admin, _ = lender_with_staff()
    with translation.override("en"), pytest.raises(InvalidProduct) as raised:
        services.product_create(lender=lender, actor=admin, data={**VALID, **changes})
    assert message in raised.value.errors[field]
    assert LoanProduct.objects.count() == 0


@pytest.mark.parametrize(
    ("regions", "industries", "field"),
    [(["999999"], [], "regions"), ([], ["Z"], "industries")],
)
def test_unknown_district_or_industry_codes_are_refused(regions, industries, field):
    lender, admin, _ = lender_with_staff()
    with pytest.raises(InvalidProduct) as raised:
        services.product_create(
            lender=lender,
            actor=admin,
            data=VALID,
            regions=regions,
            industries=industries,
        )
    assert field in raised.value.errors
    assert LoanProduct.objects.count() == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"amount_min": Decimal("10"), "amount_max": Decimal("5")},
        {"amount_min": Decimal("0"), "amount_max": Decimal("5")},
        {"term_min": 0},
        {"term_min": 12, "term_max": 6},
        {"rate_min": Decimal("0")},
        {"rate_min": Decimal("8"), "rate_max": Decimal("5")},
        {"response_days": 0},
    ],
)
def test_ranges_are_database_constraints(changes):
    product = LoanProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanProduct.objects.filter(pk=product.pk).update(**changes)
