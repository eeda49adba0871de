"""The in-app inbox, its unread count in the navigation, opening a notification, and
the email each notification sends once, in the recipient's language."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import DatabaseError
from django.test import RequestFactory

from accounts.models import Membership
from marketplace import context_processors, notifications
from marketplace.models import ApplicationEvent, Notification
from marketplace.tasks import email_notifications
from tests.factories import UserFactory
from tests.factories.accounts import activate_totp
from tests.factories.lenders import lender_with_staff, listed_product
from tests.factories.marketplace import application_in, submitted_application

pytestmark = pytest.mark.django_db


def _owner_inbox(client):
    """An application the bank accepted and started reviewing: two notifications
    for the enterprise's owner."""
    application = application_in("under_review")
    owner = application.submitted_by
    client.force_login(owner)
    return application, owner


def test_the_inbox_lists_the_users_notifications_newest_first(client):
    application, _owner = _owner_inbox(client)
    page = client.get("/en/portal/inbox/")
    assert page.status_code == 200
    items = page.context["items"]
    assert [item["notification"].event.action for item in items] == [
        "start_review",
        "accept",
    ]
    assert [item["unread"] for item in items] == [True, True]
    bank = application.lender.organization.display_name
    assert [item["sentence"] for item in items] == [
        f"{bank} started reviewing {application.reference}.",
        f"{bank} accepted your application {application.reference}.",
    ]
    html = page.content.decode()
    assert html.count('data-unread="true"') == 2
    assert 'data-testid="inbox-unread">2<' in html


def test_the_inbox_speaks_the_readers_language(client):
    application, _owner = _owner_inbox(client)
    page = client.get("/portal/inbox/")
    event = application.events.get(action="accept")
    expected = notifications.event_sentence(event, language="zh-hans")
    assert page.context["items"][1]["sentence"] == expected
    assert expected in page.content.decode()


def test_the_navigation_shows_the_unread_count_to_signed_in_users(client):
    _application, _owner = _owner_inbox(client)
    html = client.get("/en/portal/enterprise/").content.decode()
    assert 'href="/en/portal/inbox/"' in html
    assert 'data-testid="inbox-unread">2<' in html
    client.logout()
    html = client.get("/en/products/").content.decode()
    assert 'data-testid="inbox-link"' not in html


def test_opening_a_notification_marks_it_read_and_goes_to_the_application(client):
    application, owner = _owner_inbox(client)
    item = Notification.objects.filter(recipient=owner).order_by("pk").first()
    response = client.get(f"/en/portal/inbox/{item.pk}/")
    assert response.status_code == 302
    assert response["Location"] == (
        f"/en/portal/enterprise/applications/{application.reference}/"
    )
    item.refresh_from_db()
    assert item.read_at is not None
    assert (
        Notification.objects.filter(recipient=owner, read_at__isnull=True).count() == 1
    )
    html = client.get("/en/portal/inbox/").content.decode()
    assert 'data-testid="inbox-unread">1<' in html


def test_another_users_notification_is_404_and_stays_unread(client):
    _application, owner = _owner_inbox(client)
    item = Notification.objects.filter(recipient=owner).first()
    client.force_login(UserFactory())
    assert client.get(f"/en/portal/inbox/{item.pk}/").status_code == 404
    item.refresh_from_db()
    assert item.read_at is None
    assert client.get("/en/portal/inbox/").context["items"] == []


def test_mark_all_read_marks_only_the_users_own(client):
    _application, owner = _owner_inbox(client)
    others = Notification.objects.exclude(recipient=owner)
    others_unread = others.filter(read_at__isnull=True).count()
    assert others_unread > 0  # the bank's staff were told of the submission
    response = client.post("/en/portal/inbox/")
    assert response.status_code == 302
    assert response["Location"] == "/en/portal/inbox/"
    assert (
        Notification.objects.filter(recipient=owner, read_at__isnull=True).count() == 0
    )
    assert others.filter(read_at__isnull=True).count() == others_unread
    page = client.get("/en/portal/inbox/")
    assert [str(m) for m in page.context["messages"]] == [
        "2 notifications marked as read."
    ]
    assert 'data-testid="inbox-unread"' not in page.content.decode()


def test_a_bank_officer_is_sent_to_the_banks_page_of_the_application(client):
    application = submitted_application()
    reviewer = Membership.objects.get(
        organization=application.lender.organization, role="reviewer"
    ).user
    item = Notification.objects.get(recipient=reviewer)
    activate_totp(reviewer)  # bank staff reach the portal only with TOTP set up
    client.force_login(reviewer)
    response = client.get(f"/en/portal/inbox/{item.pk}/")
    assert response.status_code == 302
    assert response["Location"] == (
        f"/en/portal/bank/applications/{application.reference}/"
    )
    item.refresh_from_db()
    assert item.read_at is not None


def test_the_inbox_is_paginated(client):
    application, owner = _owner_inbox(client)
    last = application.events.order_by("-version").first()
    events = ApplicationEvent.objects.bulk_create(
        ApplicationEvent(
            application=application,
            action="start_review",
            from_status="accepted",
            to_status="under_review",
            version=last.version + index + 1,
        )
        for index in range(23)
    )
    Notification.objects.bulk_create(
        Notification(recipient=owner, event=event) for event in events
    )
    first = client.get("/en/portal/inbox/")
    assert len(first.context["items"]) == 20
    assert first.context["page"].paginator.count == 25
    second = client.get("/en/portal/inbox/?page=2")
    assert len(second.context["items"]) == 5
    assert 'rel="prev"' in second.content.decode()


# --- the navigation's count -------------------------------------------------------------


def test_the_unread_count_costs_nothing_for_an_anonymous_visitor(
    django_assert_num_queries,
):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert context_processors.inbox(request) == {"inbox_unread": 0}


def test_the_unread_count_is_one_query_and_only_when_shown(
    client, django_assert_num_queries
):
    _application, owner = _owner_inbox(client)
    request = RequestFactory().get("/")
    request.user = owner
    with django_assert_num_queries(0):
        context = context_processors.inbox(request)
    with django_assert_num_queries(1):
        assert int(str(context["inbox_unread"])) == 2
        assert bool(context["inbox_unread"]) is True


def test_a_database_error_costs_the_badge_not_the_page(client):
    _application, owner = _owner_inbox(client)
    request = RequestFactory().get("/")
    request.user = owner
    with mock.patch(
        "marketplace.selectors.unread_count", side_effect=DatabaseError("down")
    ):
        context = context_processors.inbox(request)
        assert str(context["inbox_unread"]) == "0"
        assert bool(context["inbox_unread"]) is False


# --- email ------------------------------------------------------------------------------


def test_each_recipient_is_emailed_once_in_their_language(
    mailoutbox, django_capture_on_commit_callbacks
):
    lender, admin, reviewer = lender_with_staff()
    admin.preferred_language = "en"
    admin.save(update_fields=["preferred_language"])
    reviewer.preferred_language = "zh-hans"
    reviewer.save(update_fields=["preferred_language"])
    product = listed_product(lender=lender, required_categories=["tax"])
    with django_capture_on_commit_callbacks(execute=True):
        application = submitted_application(product=product)
    event = application.events.get()
    emails = {message.to[0]: message for message in mailoutbox}
    assert sorted(emails) == sorted([admin.email, reviewer.email])

    english = emails[admin.email]
    sentence_en = notifications.event_sentence(event, language="en")
    assert english.subject == f"[Xinyidai] {application.reference} · {sentence_en}"
    item = Notification.objects.get(recipient=admin)
    assert f"/en/portal/inbox/{item.pk}/" in english.body
    assert sentence_en in english.body

    chinese = emails[reviewer.email]
    sentence_zh = notifications.event_sentence(event, language="zh-hans")
    assert chinese.subject == f"[信易贷平台] {application.reference} · {sentence_zh}"
    item = Notification.objects.get(recipient=reviewer)
    assert f"/portal/inbox/{item.pk}/" in chinese.body
    assert "/en/portal/" not in chinese.body
    assert sentence_zh in chinese.body
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0


def test_a_retried_email_job_sends_nothing_twice(
    mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = submitted_application()
    sent = len(mailoutbox)
    assert sent == 2  # the bank's administrator and reviewer
    assert email_notifications(application.events.get().pk) == 0
    assert len(mailoutbox) == sent


def test_the_email_link_opens_the_notification(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = application_in("accepted")
    owner = application.submitted_by
    (message,) = [m for m in mailoutbox if m.to == [owner.email]]
    item = Notification.objects.get(recipient=owner)
    path = f"/portal/inbox/{item.pk}/"
    assert path in message.body
    client.force_login(owner)
    response = client.get(path)
    assert response["Location"] == (
        f"/portal/enterprise/applications/{application.reference}/"
    )
