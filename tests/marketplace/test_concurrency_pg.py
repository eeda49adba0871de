"""Applying and deciding under real concurrency, with PostgreSQL's row locks and
unique constraints: threads, each with its own connection, released together by a
barrier so they really race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections

from borrowers.models import ConsentPurpose, CreditAuthorization
from marketplace import services
from marketplace.exceptions import ActiveApplicationExists, TransitionNotAllowed
from marketplace.models import Application, ApplicationEvent, ApplicationStatus
from tests.factories.lenders import lender_with_staff, listed_product
from tests.factories.marketplace import applicant, submitted_application
from workflows.applications import application_apply

THREADS = 20
RACES = 50


def race(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run ``calls`` at once, one thread each; return each one's ("ok", result) or
    ("error", exception), in the order of ``calls``."""
    barrier = threading.Barrier(len(calls), timeout=30)
    outcomes: list[tuple[str, Any] | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes[index] = ("ok", call())
        except BaseException as error:
            outcomes[index] = ("error", error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, call))
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert None not in outcomes
    return outcomes  # type: ignore[return-value]


def _apply(owner, product, key: str) -> Callable[[], Application]:
    return lambda: application_apply(
        user=owner,
        product=product,
        amount=Decimal("500000"),
        term=12,
        purpose="采购原材料",
        idempotency_key=key,
        notice_sha256=None,
        language="zh-hans",
        ip_address="203.0.113.7",
    )


def _loan_review_consents(enterprise) -> int:
    return CreditAuthorization.objects.filter(
        enterprise=enterprise, purpose=ConsentPurpose.LOAN_REVIEW
    ).count()


@pytest.mark.django_db(transaction=True)
def test_twenty_requests_with_one_idempotency_key_make_one_application(postgres):
    lender, _admin, _reviewer = lender_with_staff()
    product = listed_product(lender=lender, required_categories=["tax", "court"])
    enterprise, owner = applicant()

    outcomes = race([_apply(owner, product, "double-click-1")] * THREADS)

    assert [kind for kind, _value in outcomes] == ["ok"] * THREADS, [
        value for kind, value in outcomes if kind == "error"
    ]
    application = Application.objects.get()
    assert {(value.pk, value.reference, value.version) for _k, value in outcomes} == {
        (application.pk, application.reference, 1)
    }
    assert application.status == ApplicationStatus.SUBMITTED
    assert _loan_review_consents(enterprise) == 1
    assert application.authorization.purpose == ConsentPurpose.LOAN_REVIEW
    assert ApplicationEvent.objects.filter(application=application).count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_requests_with_different_keys_make_one_active_application(postgres):
    lender, _admin, _reviewer = lender_with_staff()
    product = listed_product(lender=lender, required_categories=["tax"])
    enterprise, owner = applicant()

    outcomes = race(
        [_apply(owner, product, f"tab-{index}") for index in range(THREADS)]
    )

    made = [value for kind, value in outcomes if kind == "ok"]
    refused = [value for kind, value in outcomes if kind == "error"]
    assert len(made) == 1
    assert len(refused) == THREADS - 1
    assert {type(error) for error in refused} == {ActiveApplicationExists}
    assert {(error.code, error.field) for error in refused} == {
        ("active_application_exists", "product")
    }
    application = Application.objects.get()
    assert application.pk == made[0].pk
    # The refused requests left no consent behind: theirs rolled back with them.
    assert _loan_review_consents(enterprise) == 1
    assert (
        application.authorization_id
        == CreditAuthorization.objects.get(
            enterprise=enterprise, purpose=ConsentPurpose.LOAN_REVIEW
        ).pk
    )
    assert ApplicationEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_approve_against_withdraw_ends_in_exactly_one_with_no_lost_update(postgres):
    lender, _admin, reviewer = lender_with_staff()
    enterprise, owner = applicant()
    applications = []
    for _ in range(RACES):
        product = listed_product(lender=lender, required_categories=["tax"])
        application = submitted_application(
            product=product, enterprise=enterprise, owner=owner
        )
        bank = services.user_actor(user=reviewer, application=application)
        application = services.application_accept(application=application, actor=bank)
        application = services.application_start_review(
            application=application, actor=bank
        )
        applications.append(application)
    winners: dict[str, int] = {"approve": 0, "withdraw": 0}

    for application in applications:
        before = application.version
        bank = services.user_actor(user=reviewer, application=application)
        sme = services.user_actor(user=owner, application=application)
        # Each side loads the application on its own, as two requests would.
        for_bank = Application.objects.get(pk=application.pk)
        for_sme = Application.objects.get(pk=application.pk)

        outcomes = race(
            [
                lambda a=for_bank, b=bank: services.application_approve(
                    application=a,
                    actor=b,
                    amount=Decimal("300000"),
                    rate=Decimal("4.20"),
                    term=12,
                ),
                lambda a=for_sme, s=sme: services.application_withdraw(
                    application=a, actor=s
                ),
            ]
        )

        kinds = [kind for kind, _value in outcomes]
        assert sorted(kinds) == ["error", "ok"], outcomes
        winner = ("approve", "withdraw")[kinds.index("ok")]
        loser_error = outcomes[kinds.index("error")][1]
        assert isinstance(loser_error, TransitionNotAllowed), loser_error
        winners[winner] += 1
        row = Application.objects.get(pk=application.pk)
        expected = {
            "approve": ApplicationStatus.APPROVED,
            "withdraw": ApplicationStatus.WITHDRAWN,
        }[winner]
        assert (row.status, row.version) == (expected, before + 1)
        assert list(
            ApplicationEvent.objects.filter(
                application=row, version__gt=before
            ).values_list("action", "from_status", "to_status", "version")
        ) == [(winner, ApplicationStatus.UNDER_REVIEW, expected, before + 1)]
        # Whichever won, the review (and the bank's consent) is over.
        assert (
            CreditAuthorization.objects.get(pk=row.authorization_id).revoked_at
            is not None
        )
        if winner == "approve":
            assert row.offered_amount == Decimal("300000.00")
        else:
            assert row.offered_amount is None and row.decided_at is None

    assert sum(winners.values()) == RACES
