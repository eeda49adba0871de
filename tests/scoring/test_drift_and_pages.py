"""PSI drift and the scoring pages."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.selectors import platform_organization
from scoring import drift, services
from scoring.features import FEATURES
from scoring.models import CreditScore
from tests.factories import MembershipFactory, activate_totp


def test_psi_is_zero_for_the_same_distribution_and_flags_a_shift():
    rng = np.random.default_rng(0)
    reference = drift.reference_bins(rng.normal(size=20_000))
    assert drift.psi(reference, rng.normal(size=20_000)) < 0.01
    shifted = drift.psi(reference, rng.normal(loc=0.5, size=20_000))
    assert 0.10 <= shifted < 0.40
    assert drift.level(0.05) == "stable"
    assert drift.level(0.10) == "watch"
    assert drift.level(0.25) == "alert"


def test_psi_counts_missing_values_as_their_own_bin():
    reference = drift.reference_bins(np.array([1.0, 2.0, 3.0, np.nan] * 100))
    assert reference["shares"][-1] == pytest.approx(0.25)
    assert drift.psi(reference, np.array([np.nan] * 100)) > 0.25


def test_model_drift_over_recent_scores(scored_enterprise, champion):
    from scoring import services

    enterprise, _owner = scored_enterprise
    # The pull scored it (a score follows the data); one more score by hand.
    services.enterprise_score(enterprise=enterprise)
    result = drift.model_drift(champion)
    assert result["scores"] == 2
    assert {row["name"] for row in result["features"]} == {
        f["name"] for f in champion.features
    }
    assert result["score"]["level"] in {"stable", "watch", "alert"}


def test_sme_sees_score_and_reasons_in_both_languages(
    client, scored_enterprise, champion
):
    enterprise, owner = scored_enterprise
    client.force_login(owner)
    response = client.post("/en/portal/enterprise/score/now/")
    assert response.status_code == 302
    score = CreditScore.objects.get(enterprise=enterprise)
    html_en = client.get("/en/portal/enterprise/score/").content.decode()
    html_zh = client.get("/portal/enterprise/score/").content.decode()
    assert f'data-grade="{score.grade}"' in html_en
    for reason in score.explained_reasons:
        assert reason["text_en"] in html_en
        assert reason["text_zh"] in html_zh


def test_operator_registry_promote_report_and_drift_pages(
    client, champion, small_models
):
    from scoring.training import register_model

    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    challenger = register_model(small_models[1])
    page = client.get("/en/portal/operator/models/").content.decode()
    assert champion.version in page and challenger.version in page
    response = client.post(reverse("scoring:model_promote", args=[challenger.pk]))
    assert response.status_code == 302
    challenger.refresh_from_db()
    assert challenger.is_champion and challenger.promoted_by == operator
    report = client.get(
        reverse("scoring:model_report_file", args=[challenger.pk, "report.html"])
    )
    assert report.status_code == 200
    assert b"roc.png" in b"".join(report.streaming_content)
    assert (
        client.get(
            f"/portal/operator/models/{challenger.pk}/report/settings.py"
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/portal/operator/models/{challenger.pk}/report/..%2F..%2Fmodel.ubj"
        ).status_code
        == 404
    )
    assert (
        client.get(reverse("scoring:model_drift", args=[challenger.pk])).status_code
        == 200
    )


def test_registry_pages_are_404_for_non_operators(client, scored_enterprise, champion):
    _enterprise, owner = scored_enterprise
    client.force_login(owner)
    assert client.get("/portal/operator/models/").status_code == 404
    assert (
        client.post(reverse("scoring:model_promote", args=[champion.pk])).status_code
        == 404
    )


def test_drift_page_names_each_feature_by_its_label_in_both_languages(
    client, scored_enterprise, champion
):
    enterprise, _owner = scored_enterprise
    services.enterprise_score(enterprise=enterprise)
    operator = MembershipFactory(
        organization=platform_organization(), role=Role.OPERATOR
    ).user
    activate_totp(operator)
    client.force_login(operator)
    url = reverse("scoring:model_drift", args=[champion.pk])
    zh = client.get(url).content.decode()
    en = client.get("/en" + url).content.decode()
    # A feature's label, translated, with its name beside it for the operator.
    assert "tax_paid_12m_log" in zh
    label = next(f for f in FEATURES if f.name == "tax_paid_12m_log")
    assert label.label_zh in zh
    assert label.label_en in en
    assert label.label_zh != label.label_en
