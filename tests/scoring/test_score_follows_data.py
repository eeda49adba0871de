"""A score follows the data: a finished pull is followed by the enterprise's score
without a click; the owner's "refresh now" and "score now" are limited per
enterprise; the data page shows the pull's progress and refreshes itself."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from creditdata import services as creditdata_services
from creditdata.models import IngestionRun, IngestionStatus
from creditdata.synthetic import synthetic_uscc
from scoring.models import CreditScore
from tests.factories.borrowers import enterprise_with_owner, grant
from workflows import credit_data

pytestmark = pytest.mark.django_db


def _sme(client, index: int):
    enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(index))
    grant(enterprise, owner)
    client.force_login(owner)
    return enterprise, owner


def test_a_finished_pull_scores_the_enterprise_without_a_click(
    client, champion, django_capture_on_commit_callbacks
):
    enterprise, owner = _sme(client, 81)
    with django_capture_on_commit_callbacks(execute=True):
        run = creditdata_services.ingestion_request(
            enterprise=enterprise, requested_by=owner
        )
    run.refresh_from_db()
    assert run.status == IngestionStatus.SUCCEEDED
    score = CreditScore.objects.get(enterprise=enterprise)
    assert score.model_version == champion
    assert score.requested_by is None  # made by the flow, not by a click
    assert score.created_at >= run.finished_at


def test_without_a_champion_the_pull_refreshes_features_and_scores_nothing(
    client, db, django_capture_on_commit_callbacks
):
    from scoring.models import FeatureVector

    enterprise, owner = _sme(client, 82)
    with django_capture_on_commit_callbacks(execute=True):
        creditdata_services.ingestion_request(enterprise=enterprise, requested_by=owner)
    assert FeatureVector.objects.filter(enterprise=enterprise).count() == 1
    assert CreditScore.objects.filter(enterprise=enterprise).count() == 0


def test_the_progress_panel_polls_while_the_pull_runs_and_stops_when_scored(
    client, champion, django_capture_on_commit_callbacks
):
    enterprise, owner = _sme(client, 83)
    with django_capture_on_commit_callbacks(execute=False):
        run = creditdata_services.ingestion_request(
            enterprise=enterprise, requested_by=owner
        )
    url = reverse("scoring:data_progress")

    queued = client.get(url).content.decode()
    assert 'data-state="pulling"' in queued
    assert 'hx-trigger="every 2s"' in queued
    assert f'value="0" max="{len(run.categories)}"' in queued

    IngestionRun.objects.filter(pk=run.pk).update(
        status=IngestionStatus.RUNNING,
        category_results={"tax": {"status": "ok", "records": 3}},
    )
    running = client.get(url).content.decode()
    assert f'value="1" max="{len(run.categories)}"' in running
    assert f"已完成 1 / {len(run.categories)} 类" in running

    IngestionRun.objects.filter(pk=run.pk).update(status=IngestionStatus.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        credit_data.pull_execute(run_pk=run.pk)
    score = CreditScore.objects.get(enterprise=enterprise)
    done = client.get(url).content.decode()
    assert 'data-state="scored"' in done
    assert "hx-trigger" not in done  # no more polling
    assert f"{score.grade}" in done and 'data-testid="progress-score"' in done


def test_the_data_page_loads_the_progress_panel(client, db):
    _sme(client, 84)
    html = client.get(reverse("creditdata:my_data")).content.decode()
    assert f'hx-get="{reverse("scoring:data_progress")}" hx-trigger="load"' in html


def test_another_users_progress_is_not_reachable(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse("scoring:data_progress")).status_code == 404


@override_settings(PULL_NOW_MIN_INTERVAL_SECONDS=600)
def test_refresh_now_is_refused_while_a_pull_runs_and_for_ten_minutes_after(
    client, db, django_capture_on_commit_callbacks
):
    enterprise, owner = _sme(client, 85)
    with django_capture_on_commit_callbacks(execute=False):
        first = creditdata_services.ingestion_request(
            enterprise=enterprise, requested_by=owner
        )

    response = client.post(reverse("creditdata:pull_now"), follow=True)
    assert IngestionRun.objects.filter(enterprise=enterprise).count() == 1
    assert [str(m) for m in response.context["messages"]] == [
        "数据拉取正在进行中；结束后本页面会自动更新。"
    ]

    finished = timezone.now() - dt.timedelta(minutes=3)
    IngestionRun.objects.filter(pk=first.pk).update(
        status=IngestionStatus.SUCCEEDED, created_at=finished, finished_at=finished
    )
    response = client.post(reverse("creditdata:pull_now"), follow=True)
    assert IngestionRun.objects.filter(enterprise=enterprise).count() == 1
    retry_at = timezone.localtime(finished + dt.timedelta(minutes=10))
    assert [str(m) for m in response.context["messages"]] == [
        f"您的数据刚刚拉取过，{retry_at:%H:%M} 之后可再次刷新。"
    ]

    IngestionRun.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=11)
    )
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("creditdata:pull_now"))
    assert IngestionRun.objects.filter(enterprise=enterprise).count() == 2


@override_settings(SCORE_NOW_MIN_INTERVAL_SECONDS=300)
def test_score_now_is_refused_within_five_minutes_of_the_last_score(
    client, champion, django_capture_on_commit_callbacks
):
    enterprise, owner = _sme(client, 86)
    with django_capture_on_commit_callbacks(execute=True):
        creditdata_services.ingestion_request(enterprise=enterprise, requested_by=owner)
    first = CreditScore.objects.get(enterprise=enterprise)

    response = client.post(reverse("scoring:score_now"), follow=True)
    assert CreditScore.objects.filter(enterprise=enterprise).count() == 1
    retry_at = timezone.localtime(first.created_at + dt.timedelta(minutes=5))
    assert [str(m) for m in response.context["messages"]] == [
        f"您的企业刚刚完成评分，{retry_at:%H:%M} 之后可再次申请评分。"
    ]

    CreditScore.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=6)
    )
    client.post(reverse("scoring:score_now"))
    assert CreditScore.objects.filter(enterprise=enterprise).count() == 2
