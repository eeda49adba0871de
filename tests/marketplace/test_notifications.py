"""Who hears of each application event (inbox item + email), and the email job:
after commit, once per recipient, in the recipient's language, linking to the item."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.selectors import platform_organization
from marketplace import selectors, services, transitions
from marketplace.models import ApplicationEvent, Notification
from marketplace.notifications import event_sentence, recipients_for
from marketplace.tasks import email_notifications
from tests.factories.accounts import UserFactory
from tests.factories.marketplace import submitted_application
from tests.marketplace.test_state_machine import (
    act,
    application_at,
    shortest_source,
    step_actor,
)

pytestmark = pytest.mark.django_db

#: Whose turn an event makes it (or whom a decision concerns): the bank's staff or
#: the enterprise's members; the platform's operators too on an escalation.
TOLD: dict[str, set[str]] = {
    "submit": {"bank"},
    "accept": {"sme"},
    "start_review": {"sme"},
    "request_info": {"sme"},
    "answer_info": {"bank"},
    "approve": {"sme"},
    "counter_offer": {"sme"},
    "reject": {"sme"},
    "accept_offer": {"bank"},
    "decline_offer": {"bank"},
    "disburse": {"sme"},
    "report_repaid": {"sme"},
    "report_overdue": {"sme"},
    "withdraw": {"bank"},
    "escalate": {"bank", "operators"},
    "reroute": {"bank"},
    "expire": {"sme"},
}


def test_every_action_of_the_table_says_whom_it_tells():
    assert set(TOLD) == set(transitions.TRANSITIONS)


def _member(organization, role, **user_kwargs):
    user = UserFactory(**user_kwargs)
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def _people(application) -> dict[str, set[int]]:
    """Everyone who could be told, by side, plus some who never are."""
    enterprise_org = application.enterprise.organization
    lender_org = application.lender.organization
    _member(enterprise_org, Role.MEMBER)
    _member(enterprise_org, Role.MEMBER, is_active=False)  # left: never told
    _member(lender_org, Role.REVIEWER, is_active=False)
    operator = _member(platform_organization(), Role.OPERATOR)

    def active(organization, roles) -> set[int]:
        return set(
            Membership.objects.filter(
                organization=organization, role__in=roles, user__is_active=True
            ).values_list("user_id", flat=True)
        )

    return {
        "sme": active(enterprise_org, [Role.OWNER, Role.MEMBER]),
        "bank": active(lender_org, [Role.ADMIN, Role.REVIEWER]),
        "operators": active(platform_organization(), [Role.OPERATOR]) | {operator.pk},
    }


def _notified(event: ApplicationEvent) -> set[int]:
    return set(
        Notification.objects.filter(event=event).values_list("recipient_id", flat=True)
    )


@pytest.mark.parametrize("action", sorted(set(transitions.TRANSITIONS) - {"submit"}))
def test_the_people_who_act_next_are_told_of_each_event_never_the_actor(action):
    application = application_at(shortest_source(action))
    people = _people(application)
    actor = step_actor(application, action)

    act(application, action, actor)

    event = ApplicationEvent.objects.filter(application=application).latest("version")
    expected = set().union(*(people[side] for side in TOLD[action]))
    expected.discard(actor.user.pk if actor.user else None)
    assert event.action == action
    assert expected  # someone is always told
    assert _notified(event) == expected
    assert recipients_for(application=event.application, event=event) == sorted(
        expected
    )


def test_a_new_application_tells_the_banks_reviewers_and_administrators():
    application = submitted_application()

    event = application.events.get()
    bank = set(
        Membership.objects.filter(
            organization=application.lender.organization,
            role__in=[Role.ADMIN, Role.REVIEWER],
        ).values_list("user_id", flat=True)
    )
    assert event.action == "submit"
    assert len(bank) == 2
    assert _notified(event) == bank


def test_a_member_who_acts_is_not_told_of_their_own_act():
    application = application_at("info_requested")
    people = _people(application)
    # The member who answers is told of nothing; the bank is.
    member = _member(application.enterprise.organization, Role.MEMBER)
    actor = services.user_actor(user=member, application=application)

    services.application_answer_info(
        application=application, actor=actor, answer="见附件。"
    )

    event = application.events.latest("version")
    assert _notified(event) == people["bank"]
    assert member.pk not in _notified(event)


# --- the emails --------------------------------------------------------------


@pytest.fixture
def bilingual_application():
    """An application whose bank has an English name and whose enterprise has one
    member reading in English and the owner in Chinese."""
    application = application_at("under_review")
    lender_org = application.lender.organization
    lender_org.name, lender_org.name_en = "示范银行", "Demo Bank"
    lender_org.save(update_fields=["name", "name_en"])
    owner = application.submitted_by
    owner.preferred_language = "zh-hans"
    owner.save(update_fields=["preferred_language"])
    english = _member(
        application.enterprise.organization, Role.MEMBER, preferred_language="en"
    )
    return application, owner, english


def test_each_recipient_gets_one_email_in_their_language_after_commit(
    bilingual_application, mailoutbox, django_capture_on_commit_callbacks
):
    application, owner, english = bilingual_application
    bank = step_actor(application, "approve")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.application_approve(
            application=application, actor=bank, amount="300000", rate="4.2", term=12
        )
    assert mailoutbox == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()

    event = application.events.latest("version")
    items = {
        item.recipient_id: item for item in Notification.objects.filter(event=event)
    }
    assert set(items) == {owner.pk, english.pk}
    by_address = {message.to[0]: message for message in mailoutbox}
    assert sorted(by_address) == sorted([owner.email, english.email])
    reference = application.reference

    en = by_address[english.email]
    assert en.subject == (
        f"[Xinyidai] {reference} · Demo Bank approved your application {reference}."
    )
    assert f"https://xinyidai.example.cn/en/portal/inbox/{items[english.pk].pk}/" in (
        en.body
    )
    zh = by_address[owner.email]
    assert zh.subject == (
        f"[信易贷平台] {reference} · {event_sentence(event, language='zh-hans')}"
    )
    assert "示范银行" in zh.subject and "Demo Bank" not in zh.subject
    assert f"https://xinyidai.example.cn/portal/inbox/{items[owner.pk].pk}/" in zh.body
    assert all(
        item.emailed_at is not None for item in Notification.objects.filter(event=event)
    )


def test_the_email_job_run_again_sends_nothing_more(
    bilingual_application, mailoutbox, django_capture_on_commit_callbacks
):
    application, _owner, _english = bilingual_application
    with django_capture_on_commit_callbacks(execute=True):
        services.application_request_info(
            application=application,
            actor=step_actor(application, "request_info"),
            question="请补充纳税证明。",
        )
    event = application.events.latest("version")
    assert len(mailoutbox) == 2
    emailed = dict(
        Notification.objects.filter(event=event).values_list("pk", "emailed_at")
    )

    assert email_notifications(event.pk) == 0

    assert len(mailoutbox) == 2
    assert (
        dict(Notification.objects.filter(event=event).values_list("pk", "emailed_at"))
        == emailed
    )


def test_the_email_job_sends_only_the_items_not_yet_emailed(
    bilingual_application, mailoutbox, django_capture_on_commit_callbacks
):
    application, owner, english = bilingual_application
    services.application_request_info(
        application=application,
        actor=step_actor(application, "request_info"),
        question="请补充纳税证明。",
    )
    event = application.events.latest("version")
    # The owner's email left before a mail-server failure; the retry sends the rest.
    Notification.objects.filter(event=event, recipient=owner).update(
        emailed_at=timezone.now()
    )

    assert email_notifications(event.pk) == 1

    assert [message.to for message in mailoutbox] == [[english.email]]


# --- the inbox ---------------------------------------------------------------


def test_marking_read_counts_and_touches_only_the_readers_own_items():
    application = application_at("accepted")
    owner = application.submitted_by
    colleague = _member(application.enterprise.organization, Role.MEMBER)
    act(application, "start_review", step_actor(application, "start_review"))
    items = list(Notification.objects.filter(recipient=owner).order_by("pk"))
    assert selectors.unread_count(user=owner) == len(items) == 2  # accept, start
    assert selectors.unread_count(user=colleague) == 1  # joined after the accept

    # Another reader's item among the keys is not touched.
    colleagues = list(
        Notification.objects.filter(recipient=colleague).values_list("pk", flat=True)
    )
    assert (
        services.notifications_mark_read(user=owner, pks=[items[0].pk, *colleagues])
        == 1
    )
    assert selectors.unread_count(user=owner) == 1
    assert selectors.unread_count(user=colleague) == 1
    assert services.notifications_mark_read(user=owner) == 1
    assert selectors.unread_count(user=owner) == 0
    assert services.notifications_mark_read(user=owner) == 0
