"""Fixtures shared by the scoring tests: two small fitted models and a scored SME."""

from __future__ import annotations

import datetime as dt

import pytest

from creditdata import services as creditdata_services
from scoring import services
from scoring.synthetic_sample import draw_sample
from scoring.training import fit_platform_model, register_model
from tests.factories.borrowers import enterprise_with_owner, grant


@pytest.fixture(scope="module")
def small_models():
    sample = draw_sample(
        enterprises_per_vintage=400,
        vintages=(dt.date(2024, 6, 30), dt.date(2024, 12, 31), dt.date(2025, 6, 30)),
        processes=1,
    )
    return fit_platform_model(sample, seed=1, nthread=1), fit_platform_model(
        sample, seed=2, nthread=1
    )


@pytest.fixture
def champion(db, small_models):
    model = register_model(small_models[0])
    return services.model_promote(model=model, promoted_by=None)


@pytest.fixture
def scored_enterprise(db, champion, django_capture_on_commit_callbacks):
    from creditdata.synthetic import synthetic_uscc

    enterprise, owner = enterprise_with_owner(uscc=synthetic_uscc(77))
    grant(enterprise, owner)
    with django_capture_on_commit_callbacks(execute=True):
        creditdata_services.ingestion_request(enterprise=enterprise, requested_by=owner)
    return enterprise, owner
