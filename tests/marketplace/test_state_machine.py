"""The application state machine against its table (``marketplace.transitions``).

Every (state, action) pair outside the table is refused and changes nothing; every
role × action pair is allowed exactly when the table names the role; every allowed
transition writes one history row (version + 1, actor, organization, IP, note); the
review's end ends the bank's consent; the bank's clock stops while the SME is asked
for information. Applications are moved to each state through the real services.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Membership, Role
from borrowers.models import CreditAuthorization
from core.models import OutboxJob
from marketplace import selectors, services, transitions
from marketplace.exceptions import NotPermitted, StaleVersion, TransitionNotAllowed
from marketplace.models import (
    REVIEW_STATES,
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Notification,
)
from marketplace.services import SYSTEM_ACTOR, Actor, UploadedDocument, user_actor
from tests.factories.accounts import UserFactory
from tests.factories.lenders import lender_with_staff
from tests.factories.marketplace import operator_actor, staff, submitted_application

pytestmark = pytest.mark.django_db

S = ApplicationStatus
NOTE = "已核对材料。"
IP = "203.0.113.7"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"

_REVIEWED = ["accept", "start_review"]
_APPROVED = [*_REVIEWED, "approve"]
_DISBURSED = [*_APPROVED, "disburse"]
_COUNTERED = [*_REVIEWED, "counter_offer"]
#: The actions that take a fresh application (submitted) to each state. ``draft`` is
#: special: applying submits at once (no service makes a draft), so a submitted row
#: is set to draft directly to exercise the table's rows from ``draft``.
PATHS: dict[str, list[str]] = {
    S.DRAFT: [],
    S.SUBMITTED: [],
    S.ACCEPTED: ["accept"],
    S.UNDER_REVIEW: _REVIEWED,
    S.INFO_REQUESTED: [*_REVIEWED, "request_info"],
    S.APPROVED: _APPROVED,
    S.COUNTER_OFFERED: _COUNTERED,
    S.DECLINED: [*_COUNTERED, "decline_offer"],
    S.REJECTED: [*_REVIEWED, "reject"],
    S.DISBURSED: _DISBURSED,
    S.REPAID: [*_DISBURSED, "report_repaid"],
    S.OVERDUE: [*_DISBURSED, "report_overdue"],
    S.WITHDRAWN: ["withdraw"],
    S.ESCALATED: ["escalate"],
    S.EXPIRED: ["expire"],
}
#: Who takes each step of a path: the first role of the transition in this order.
_STEP_ROLES = (
    transitions.BANK_ADMIN,
    transitions.SME_OWNER,
    transitions.SYSTEM,
    transitions.OPERATOR,
)

TABLE_PAIRS = sorted(
    (action, source)
    for action, transition in transitions.TRANSITIONS.items()
    for source in transition.sources
)
OUTSIDE_PAIRS = sorted(
    (state, action)
    for state in S.values
    for action, transition in transitions.TRANSITIONS.items()
    if state not in transition.sources
)
ROLE_PAIRS = [
    (action, role) for action in transitions.TRANSITIONS for role in transitions.ROLES
]


def payload(application: Application, action: str) -> dict:
    """A valid payload for ``action`` on ``application`` (what the forms send)."""
    product = application.product
    today = timezone.localdate()
    offer = {
        "amount": product.amount_min,
        "rate": product.rate_min,
        "term": product.term_min,
    }
    return {
        "request_info": {"question": "请提供近三个月的银行流水。"},
        "answer_info": {
            "answer": "银行流水见附件。",
            "files": [UploadedDocument("流水.pdf", PDF)],
        },
        "approve": offer,
        "counter_offer": {**offer, "term": product.term_min + 1},
        "reject": {"reasons": ["credit_grade"]},
        "disburse": {
            "amount": application.offered_amount or product.amount_min,
            "disbursed_on": today,
        },
        "report_repaid": {"repaid_on": today},
        "report_overdue": {"days_past_due": 30},
    }.get(action, {})


def actor_for(application: Application, role: str, *, ip: str = IP) -> Actor:
    """An actor who is exactly ``role`` to ``application``."""
    if role == transitions.SYSTEM:
        return SYSTEM_ACTOR
    if role == transitions.OPERATOR:
        return dataclasses.replace(operator_actor(), ip_address=ip)
    if role == transitions.SME_OWNER:
        user = application.submitted_by
    elif role == transitions.SME_MEMBER:
        user = UserFactory()
        Membership.objects.create(
            user=user,
            organization=application.enterprise.organization,
            role=Role.MEMBER,
        )
    else:
        bank_role = Role.ADMIN if role == transitions.BANK_ADMIN else Role.REVIEWER
        user = staff(application, bank_role)
    actor = user_actor(user=user, application=application, ip_address=ip)
    assert actor.roles == {role}
    return actor


def act(application: Application, action: str, actor: Actor, **extra) -> Application:
    """Take ``action`` the way the portals and the API do (``application_act``).

    ``submit``, ``escalate`` and ``expire`` are not dispatched (applying creates a
    submitted application; the platform's jobs call their services, which always act
    as the system): for those the table's guard itself is called with ``actor``."""
    kwargs = {**payload(application, action), "note": NOTE, **extra}
    if action in services.SERVICES:
        return services.application_act(
            application=application, action=action, actor=actor, **kwargs
        )
    if actor is SYSTEM_ACTOR and action == "escalate":
        return services.application_escalate(application=application, note=NOTE)
    if actor is SYSTEM_ACTOR and action == "expire":
        return services.application_expire(application=application, note=NOTE)
    return services._transition(
        application=application, action=action, actor=actor, note=NOTE
    )


def step_actor(application: Application, action: str) -> Actor:
    roles = transitions.TRANSITIONS[action].roles
    role = next(role for role in _STEP_ROLES if role in roles)
    return actor_for(application, role)


def application_at(state: str, **kwargs) -> Application:
    """A fresh application moved through the real services to ``state``."""
    application = submitted_application(**kwargs)
    if state in (S.DRAFT, S.EXPIRED):
        Application.objects.filter(pk=application.pk).update(status=S.DRAFT)
        application.refresh_from_db()
    for action in PATHS[state]:
        application = act(application, action, step_actor(application, action))
    application.refresh_from_db()
    assert application.status == state
    return application


def shortest_source(action: str) -> str:
    sources = transitions.TRANSITIONS[action].sources
    return min(sorted(sources), key=lambda state: len(PATHS[state]))


def recorded(application: Application) -> dict:
    """Everything a refused transition must leave as it was."""
    row = Application.objects.get(pk=application.pk)
    authorization = CreditAuthorization.objects.get(pk=row.authorization_id)
    return {
        "status": row.status,
        "version": row.version,
        "updated_at": row.updated_at,
        "due_at": row.due_at,
        "paused_remaining": row.paused_remaining,
        "decided_at": row.decided_at,
        "offered_amount": row.offered_amount,
        "events": list(
            ApplicationEvent.objects.filter(application=row)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
        "notifications": Notification.objects.filter(event__application=row).count(),
        "information_requests": row.information_requests.count(),
        "consent_revoked_at": authorization.revoked_at,
        "outbox": OutboxJob.objects.count(),
    }


def test_the_paths_reach_every_state_of_the_model():
    assert set(PATHS) == set(S.values)
    assert set(transitions.SME_ACTIONS) | set(transitions.BANK_ACTIONS) | {
        "submit",
        "escalate",
        "expire",
        "reroute",
    } == set(transitions.TRANSITIONS)


@pytest.mark.parametrize(("state", "action"), OUTSIDE_PAIRS)
def test_every_pair_outside_the_table_is_refused_and_changes_nothing(state, action):
    application = application_at(state)
    actor = step_actor(application, action)
    before = recorded(application)

    with pytest.raises(TransitionNotAllowed) as refused:
        act(application, action, actor)

    assert refused.value.code == "transition_not_allowed"
    message = str(refused.value.message)
    assert str(transitions.TRANSITIONS[action].label) in message
    assert str(S(state).label) in message
    assert recorded(application) == before


@pytest.mark.parametrize(("action", "role"), ROLE_PAIRS)
def test_each_role_may_take_an_action_exactly_when_the_table_names_it(action, role):
    transition = transitions.TRANSITIONS[action]
    application = application_at(shortest_source(action))
    actor = actor_for(application, role)
    before = recorded(application)

    if role not in transition.roles:
        with pytest.raises(NotPermitted) as refused:
            act(application, action, actor)
        assert refused.value.code == "not_permitted"
        assert recorded(application) == before
        return

    result = act(application, action, actor)

    assert result.status == transition.target
    assert result.version == before["version"] + 1


@pytest.mark.parametrize(("action", "source"), TABLE_PAIRS)
def test_every_allowed_transition_writes_one_event_and_ends_the_consent_only_on_leaving_review(
    action, source
):
    transition = transitions.TRANSITIONS[action]
    application = application_at(source)
    actor = step_actor(application, action)
    before = recorded(application)

    result = act(application, action, actor)

    row = Application.objects.get(pk=application.pk)
    assert (row.status, row.version) == (transition.target, before["version"] + 1)
    assert result.version == row.version
    new_events = list(
        ApplicationEvent.objects.filter(application=row).exclude(
            pk__in=before["events"]
        )
    )
    assert len(new_events) == 1
    event = new_events[0]
    assert (event.action, event.from_status, event.to_status, event.version) == (
        action,
        source,
        transition.target,
        before["version"] + 1,
    )
    assert event.actor_id == (actor.user.pk if actor.user else None)
    assert event.organization_id == (
        actor.organization.pk if actor.organization else None
    )
    assert event.ip_address == actor.ip_address
    assert event.channel == actor.channel
    assert event.note == NOTE
    # A decision is dated and signed; nothing else sets it.
    if action in transitions.DECISIONS:
        assert row.decided_at == event.created_at
        assert row.decided_by_id == actor.user.pk
        assert row.decision_note == NOTE
    else:
        assert row.decided_at == before["decided_at"]
    # Leaving the review ends the consent; the bank's next read finds none.
    ends_review = source in REVIEW_STATES and transition.target not in REVIEW_STATES
    authorization = CreditAuthorization.objects.get(pk=row.authorization_id)
    if ends_review:
        assert before["consent_revoked_at"] is None
        assert authorization.revoked_at >= event.created_at
        assert row.reference in authorization.revoke_reason
    else:  # still in review, or ended earlier on the way here: left as it was
        assert authorization.revoked_at == before["consent_revoked_at"]
    # (A draft made for this test keeps the consent it was applied with.)
    assert (before["consent_revoked_at"] is None) is (
        source in REVIEW_STATES or source == S.DRAFT
    )
    assert (selectors.review_consent(application=row) is None) is (
        transition.target not in REVIEW_STATES
    )


@pytest.mark.parametrize("state", sorted(transitions.TRANSITIONS["withdraw"].sources))
def test_the_sme_withdraws_from_every_pre_decision_state(state):
    application = application_at(state)
    owner = actor_for(application, transitions.SME_OWNER)
    version = application.version

    services.application_withdraw(application=application, actor=owner, note="不需要了")

    row = Application.objects.get(pk=application.pk)
    assert (row.status, row.version, row.due_at) == (S.WITHDRAWN, version + 1, None)
    assert row.decided_at is None
    assert selectors.review_consent(application=row) is None
    authorization = CreditAuthorization.objects.get(pk=row.authorization_id)
    assert (authorization.revoked_at is not None) is (state in REVIEW_STATES)
    event = row.events.get(version=version + 1)
    assert (event.action, event.note, event.actor_id) == (
        "withdraw",
        "不需要了",
        row.submitted_by_id,
    )


@pytest.mark.parametrize(
    "state",
    sorted(set(S.values) - transitions.TRANSITIONS["withdraw"].sources),
)
def test_no_withdrawal_after_the_decision(state):
    application = application_at(state)
    before = recorded(application)

    with pytest.raises(TransitionNotAllowed):
        services.application_withdraw(
            application=application,
            actor=actor_for(application, transitions.SME_OWNER),
        )

    assert recorded(application) == before


def test_the_role_is_checked_before_the_state():
    application = application_at(S.REJECTED)
    before = recorded(application)

    with pytest.raises(NotPermitted):
        services.application_approve(
            application=application,
            actor=actor_for(application, transitions.SME_OWNER),
            **payload(application, "approve"),
        )

    assert recorded(application) == before


def test_another_banks_staff_is_no_one_to_the_application():
    application = application_at(S.SUBMITTED)
    _other, other_admin, _reviewer = lender_with_staff()
    stranger = user_actor(user=other_admin, application=application)
    before = recorded(application)

    assert stranger.roles == frozenset()
    with pytest.raises(NotPermitted):
        services.application_accept(application=application, actor=stranger)
    assert recorded(application) == before


@pytest.mark.parametrize("action", ["submit", "escalate", "expire"])
def test_actions_only_the_platform_takes_are_not_dispatched_to_anyone(action):
    application = application_at(shortest_source(action))
    before = recorded(application)

    for role in transitions.ROLES:
        with pytest.raises(TransitionNotAllowed) as refused:
            services.application_act(
                application=application,
                action=action,
                actor=actor_for(application, role),
            )
        assert refused.value.code == "unknown_action"
    assert recorded(application) == before


def test_an_unknown_action_is_refused():
    application = application_at(S.SUBMITTED)
    before = recorded(application)

    with pytest.raises(TransitionNotAllowed) as refused:
        services.application_act(
            application=application,
            action="delete",
            actor=actor_for(application, transitions.BANK_ADMIN),
        )

    assert refused.value.code == "unknown_action"
    assert recorded(application) == before


def test_a_stale_version_is_refused_and_changes_nothing():
    application = application_at(S.UNDER_REVIEW)
    before = recorded(application)

    with pytest.raises(StaleVersion) as refused:
        services.application_approve(
            application=application,
            actor=actor_for(application, transitions.BANK_REVIEWER),
            expected_version=application.version - 1,
            **payload(application, "approve"),
        )

    assert refused.value.field == "version"
    assert recorded(application) == before


def test_the_current_version_is_accepted():
    application = application_at(S.UNDER_REVIEW)

    approved = services.application_approve(
        application=application,
        actor=actor_for(application, transitions.BANK_REVIEWER),
        expected_version=application.version,
        **payload(application, "approve"),
    )

    assert approved.version == application.version + 1


def test_allowed_transitions_lists_the_buttons_of_each_side():
    assert [
        t.action
        for t in transitions.allowed_transitions(
            S.UNDER_REVIEW, {transitions.BANK_REVIEWER}
        )
    ] == ["request_info", "approve", "counter_offer", "reject"]
    assert [
        t.action
        for t in transitions.allowed_transitions(
            S.UNDER_REVIEW, {transitions.SME_OWNER}
        )
    ] == ["withdraw"]
    assert [
        t.action
        for t in transitions.allowed_transitions(
            S.INFO_REQUESTED, {transitions.SME_MEMBER}
        )
    ] == ["answer_info"]
    assert transitions.allowed_transitions(S.REPAID, set(transitions.ROLES)) == []


# --- the bank's clock --------------------------------------------------------


class Clock:
    """``django.utils.timezone.now`` under the test's control."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    # A minute ahead: rows stamped with the real time by a model default (a consent
    # notice created on demand) are already in the past for the services.
    clock = Clock((timezone.now() + dt.timedelta(minutes=1)).replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def test_the_deadline_pauses_while_the_sme_is_asked_and_resumes_with_the_time_left(
    clock,
):
    application = submitted_application()
    submitted_at = clock.now
    assert application.due_at is not None and application.due_at > submitted_at
    due_at = application.due_at
    bank = actor_for(application, transitions.BANK_REVIEWER)
    clock.advance(hours=1)
    application = services.application_accept(application=application, actor=bank)
    application = services.application_start_review(application=application, actor=bank)
    assert application.due_at == due_at  # the bank's clock runs on

    asked_at = clock.advance(hours=2)
    application = services.application_request_info(
        application=application, actor=bank, question="请补充纳税证明。"
    )

    row = Application.objects.get(pk=application.pk)
    assert row.due_at is None
    assert row.paused_remaining == due_at - asked_at
    # The SME takes a week: the bank loses none of its time.
    answered_at = clock.advance(days=7)
    services.application_answer_info(
        application=row,
        actor=actor_for(row, transitions.SME_MEMBER),
        answer="见附件。",
        files=[UploadedDocument("纳税证明.pdf", PDF)],
    )

    row = Application.objects.get(pk=application.pk)
    assert row.status == S.UNDER_REVIEW
    assert row.due_at == answered_at + (due_at - asked_at)
    assert row.paused_remaining is None
    # The queue sorts by the resumed deadline.
    assert list(selectors.lender_applications(lender=row.lender)) == [row]

    clock.advance(hours=1)
    decided = services.application_approve(
        application=row, actor=bank, **payload(row, "approve")
    )
    assert decided.due_at is None  # nobody's clock runs after a decision


def test_a_paused_deadline_already_passed_resumes_with_no_time_left(clock):
    application = application_at(S.UNDER_REVIEW)
    bank = actor_for(application, transitions.BANK_REVIEWER)
    clock.now = application.due_at + dt.timedelta(hours=3)

    application = services.application_request_info(
        application=application, actor=bank, question="请补充。"
    )
    assert application.paused_remaining == dt.timedelta(0)
    answered_at = clock.advance(days=1)
    application = services.application_answer_info(
        application=application,
        actor=actor_for(application, transitions.SME_OWNER),
        answer="好的。",
    )

    assert application.due_at == answered_at


# --- the documentation of the table ------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "applications.md"


def table_markdown() -> str:
    """The transition table as ``docs/applications.md`` shows it (from
    ``transitions.describe()``, so the page cannot drift from the code)."""
    lines = [
        "| action | from | to | who | needs | webhook event |",
        "|---|---|---|---|---|---|",
    ]
    for row in transitions.describe():
        lines.append(
            "| `{action}` | {sources} | `{target}` | {roles} | {needs} | `{event}` |".format(
                action=row["action"],
                sources=", ".join(f"`{s}`" for s in row["from"]),
                target=row["to"],
                roles=", ".join(f"`{r}`" for r in row["roles"]),
                needs=", ".join(f"`{n}`" for n in row["needs"]) or "—",
                event=row["event"],
            )
        )
    return "\n".join(lines) + "\n"


def test_docs_table_matches_transitions():
    text = DOCS.read_text(encoding="utf-8")
    assert table_markdown() in text, (
        "docs/applications.md is out of date; paste this table into it:\n\n"
        + table_markdown()
    )
