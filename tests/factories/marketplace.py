"""Applications in a given state, made through the real services (apply workflow and
transitions), so every one has its consent, snapshot, history and version."""

from __future__ import annotations

import itertools
from decimal import Decimal

from accounts.selectors import platform_organization
from borrowers.models import ConsentPurpose
from marketplace import services
from marketplace.models import Application
from marketplace.services import Actor, user_actor
from tests.factories.accounts import UserFactory
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.factories.lenders import lender_with_staff, listed_product
from tests.factories.scoring import stored_score
from workflows.applications import application_apply

_keys = itertools.count(1)

#: The path through the table to each state, from ``submitted``.
PATHS: dict[str, list[tuple[str, dict]]] = {
    "submitted": [],
    "accepted": [("accept", {})],
    "under_review": [("accept", {}), ("start_review", {})],
    "info_requested": [
        ("accept", {}),
        ("start_review", {}),
        ("request_info", {"question": "请提供近三个月的银行流水。"}),
    ],
}


def applicant(**enterprise_kwargs):
    """A verified enterprise with its owner, a scoring consent and a stored score."""
    enterprise, owner = enterprise_with_owner(**enterprise_kwargs)
    grant(enterprise, owner, purpose=ConsentPurpose.SCORING)
    stored_score(enterprise)
    return enterprise, owner


def submitted_application(
    *,
    product=None,
    enterprise=None,
    owner=None,
    amount: str = "500000",
    term: int = 12,
    **product_kwargs,
) -> Application:
    if product is None:
        lender, _admin, _reviewer = lender_with_staff()
        product_kwargs.setdefault("required_categories", ["tax", "court"])
        product = listed_product(lender=lender, **product_kwargs)
    if enterprise is None:
        enterprise, owner = applicant()
    return application_apply(
        user=owner,
        product=product,
        amount=Decimal(amount),
        term=term,
        purpose="采购原材料",
        idempotency_key=f"test-{next(_keys)}",
        notice_sha256=None,
        language="zh-hans",
    )


def staff(application: Application, role: str = "reviewer"):
    """A user of the application's lender with ``role`` (reviewer / admin)."""
    from accounts.models import Membership

    user = UserFactory()
    Membership.objects.create(
        user=user, organization=application.lender.organization, role=role
    )
    return user


def bank_actor(application: Application, role: str = "reviewer") -> Actor:
    return user_actor(user=staff(application, role), application=application)


def sme_actor(application: Application) -> Actor:
    owner = application.submitted_by
    return user_actor(user=owner, application=application)


def application_in(state: str, **kwargs) -> Application:
    """An application moved along the table to ``state``."""
    application = submitted_application(**kwargs)
    for action, payload in PATHS[state]:
        application = services.application_act(
            application=application,
            action=action,
            actor=bank_actor(application),
            **payload,
        )
    return application


def operator_actor() -> Actor:
    from accounts.models import Membership

    user = UserFactory()
    Membership.objects.create(
        user=user, organization=platform_organization(), role="operator"
    )
    return Actor(
        user=user, organization=platform_organization(), roles=frozenset({"operator"})
    )
