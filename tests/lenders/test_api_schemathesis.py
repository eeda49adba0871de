"""Schemathesis against the schema the server really serves: no answer of the bank API
is a server error, and every answer is one the schema documents (status code, content
type, body), for generated valid and invalid requests alike.

How it runs, and why:

* The schema is fetched from ``/api/schema/`` with a bank's API key, through the WSGI
  application in this process — what an integrator downloads, not the generator's
  output.
* Every request goes through the same WSGI application, inside this test's database
  transaction; each generated case runs in a savepoint that is rolled back, so every
  case starts from the seeded data and the order of cases does not matter. Django's
  ``close_old_connections`` is disconnected from the request signals for the test
  (as Django's own test client does), or the first request would close the
  connection that holds the transaction.
* Hypothesis is driven directly (``@given`` over ``APIOperation.as_strategy``) rather
  than through ``schemathesis.pytest.from_fixture``, which sets the private
  ``Function._nodeid`` that pytest 9.2 removed.
* Deterministic: ``derandomize=True`` (no example database, no random seed), so CI
  runs the same cases every time; ``MAX_EXAMPLES`` per operation keeps the file fast.

Checks: ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance``, ``response_schema_conformance`` and
``negative_data_rejection`` (a request the schema says is invalid must be refused:
every field takes only its JSON type, see ``core.api``), plus our own
``other_banks_products_stay_hidden`` and ``other_banks_applications_stay_hidden``.
``positive_data_acceptance`` is off: rules that
involve several fields (the maximum not below the minimum, the legal rate cap, a code
already used) cannot be written in the schema, so most generated "valid" products are
rightly refused with a 400.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from lenders.apikeys import api_key_create
from lenders.models import LoanProduct, ProductStatus
from tests.factories.lenders import (
    LoanProductFactory,
    lender_with_staff,
    listed_product,
)

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 40
# The served operations; a new one must be added here (and so is fuzzed too).
OPERATIONS = (
    "GET /api/v1/products/",
    "POST /api/v1/products/",
    "GET /api/v1/products/{code}/",
    "PUT /api/v1/products/{code}/",
    "PATCH /api/v1/products/{code}/",
    "POST /api/v1/products/{code}/delist/",
    "POST /api/v1/products/{code}/submit/",
    "POST /api/v1/products/{code}/withdraw/",
    # The applications (marketplace.api), fuzzed against the `applications` fixture.
    "GET /api/v1/applications/",
    "GET /api/v1/applications/{reference}/",
    "GET /api/v1/applications/{reference}/profile/",
    "GET /api/v1/applications/{reference}/documents/{document_pk}/",
    *(
        f"POST /api/v1/applications/{{reference}}/actions/{name}/"
        for name in (
            "accept",
            "start_review",
            "request_info",
            "approve",
            "counter_offer",
            "reject",
            "disburse",
            "report_repaid",
            "report_overdue",
        )
    ),
)
# The bank's own products, by code: a draft, a listed one and one under review, so
# the transitions and the updates reach the services, not only the 404.
OWN_CODES = ("kc-draft", "kc-listed", "kc-review")
# Another bank's products: one with a code only it has, one with a code we also have.
RIVAL_CODE = "rival-only"
RIVAL_NAME = "他行机密产品"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def other_banks_products_stay_hidden(ctx: Any, response: Any, case: Any) -> bool:
    """Another bank's product is never in an answer, and its code is a 404."""
    assert RIVAL_NAME not in response.content.decode("utf-8", "replace"), (
        "another bank's product leaked"
    )
    if (case.path_parameters or {}).get("code") == RIVAL_CODE:
        assert response.status_code == 404, (
            f"another bank's product answered {response.status_code}, not 404"
        )
    return True


@pytest.fixture
def served(settings) -> Iterator[tuple[schemathesis.BaseSchema, dict[str, str]]]:
    """The served schema (fetched with the key) and the headers every case sends."""
    settings.BANK_API_RATE = "1000000/min"  # the throttle is tested in test_api.py
    lender, admin, _reviewer = lender_with_staff()
    LoanProductFactory(lender=lender, code="kc-draft")
    listed_product(lender=lender, code="kc-listed", regions=["440305"])
    LoanProductFactory(
        lender=lender, code="kc-review", status=ProductStatus.PENDING_REVIEW
    )
    rival, _rival_admin, _ = lender_with_staff()
    listed_product(lender=rival, code=RIVAL_CODE, name=RIVAL_NAME)
    listed_product(lender=rival, code="kc-draft", name=RIVAL_NAME)
    _key, raw = api_key_create(
        lender=lender,
        name="schemathesis",
        scopes=[
            "products:read",
            "products:write",
            "applications:read",
            "applications:write",
        ],
        created_by=admin,
    )
    headers = {"Authorization": f"Bearer {raw}", "Accept-Language": "en"}

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # Every refused case logs a warning; thousands of them are noise here.
    request_logger = logging.getLogger("django.request")
    level = request_logger.level
    request_logger.setLevel(logging.ERROR)
    try:
        schema = schemathesis.openapi.from_wsgi(
            "/api/schema/?format=json",
            # The application config.wsgi serves, without get_wsgi_application()'s
            # django.setup(), which would configure logging again mid-suite.
            WSGIHandler(),
            # The key is in every request's headers; generated credentials would
            # only be overwritten by it.
            config=schemathesis.Config.from_dict(
                {"generation": {"with-security-parameters": False}}
            ),
            headers=headers,
        )
        yield schema, headers
    finally:
        request_logger.setLevel(level)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def applications(served) -> dict[str, Any]:
    """The bank's applications in each state it acts on (one with a document), and
    another bank's: their references, the document's key."""
    from django.utils import timezone

    from marketplace import services
    from tests.factories.marketplace import application_in, bank_actor, sme_actor

    lender = LoanProduct.objects.get(code="kc-listed").lender
    product = listed_product(
        lender=lender, code="kc-apply", required_categories=["tax"]
    )

    def approved(application):
        return services.application_approve(
            application=application,
            actor=bank_actor(application, "admin"),
            amount="500000",
            rate="4.35",
            term=12,
        )

    with_document = application_in("info_requested", product=product)
    with_document = services.application_answer_info(
        application=with_document,
        actor=sme_actor(with_document),
        answer="已补充",
        files=[services.UploadedDocument("流水.pdf", b"%PDF-1.4\n%%EOF\n")],
    )
    disbursed = approved(application_in("under_review", product=product))
    disbursed = services.application_disburse(
        application=disbursed,
        actor=bank_actor(disbursed, "admin"),
        amount="500000",
        disbursed_on=timezone.localdate(),
    )
    own = [
        application_in("submitted", product=product),
        application_in("accepted", product=product),
        application_in("under_review", product=product),
        with_document,
        approved(application_in("under_review", product=product)),
        disbursed,
    ]
    rival_product = LoanProduct.objects.get(code=RIVAL_CODE)
    rival = application_in("under_review", product=rival_product)
    return {
        "own": [application.reference for application in own],
        "rival": rival.reference,
        "document": with_document.information_requests.get().documents.get().pk,
    }


def other_banks_applications_stay_hidden(reference: str):
    """Another bank's application is a 404 on every path that names it."""

    def check(ctx: Any, response: Any, case: Any) -> bool:
        if (case.path_parameters or {}).get("reference") == reference:
            assert response.status_code == 404, (
                f"another bank's application answered {response.status_code}, not 404"
            )
        assert reference not in response.content.decode("utf-8", "replace"), (
            "another bank's application leaked"
        )
        return True

    return check


def _operation(schema: schemathesis.BaseSchema, label: str) -> Any:
    method, path = label.split(" ", 1)
    return schema[path][method]


def _documented_examples(operation: Any) -> list[Any]:
    """The request bodies the served schema gives as examples."""
    content = operation.definition.raw.get("requestBody", {}).get("content", {})
    examples = content.get("application/json", {}).get("examples", {})
    return [example["value"] for example in examples.values()]


def _cases(operation: Any, applications: dict[str, Any]) -> st.SearchStrategy:
    """Valid and invalid requests, and valid ones aimed where the services act: at
    the seeded products and applications, and with the documented example bodies
    (generated products mostly break a rule the schema cannot state, such as the
    maximum below the minimum, so without the examples a create would never get past
    the services)."""
    pins: list[dict[str, Any]] = [{}]
    if "{code}" in operation.path:
        pins += [{"code": code} for code in (*OWN_CODES, RIVAL_CODE)]
    if "{reference}" in operation.path:
        pins += [
            {"reference": reference}
            for reference in (*applications["own"], applications["rival"])
        ]
    if "{document_pk}" in operation.path:
        pins = [{**pin, "document_pk": applications["document"]} for pin in pins]
    positive = []
    for path_parameters in pins:
        pinned = {"path_parameters": path_parameters} if path_parameters else {}
        positive.append(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE, **pinned)
        )
        positive += [
            operation.as_strategy(
                generation_mode=GenerationMode.POSITIVE, body=body, **pinned
            )
            for body in _documented_examples(operation)
        ]
    # Half the cases invalid, half valid (of every kind above).
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        st.one_of(positive),
    )


def test_every_served_operation_is_fuzzed(served):
    schema, _headers = served

    labels = {result.ok().label for result in schema.get_all_operations()}

    assert labels == set(OPERATIONS)


@pytest.mark.parametrize(
    ("label", "code", "status"),
    [
        ("POST /api/v1/products/", None, 201),
        ("PUT /api/v1/products/{code}/", "kc-draft", 200),
        # A listed product's reviewed terms change through review: 202.
        ("PATCH /api/v1/products/{code}/", "kc-listed", 202),
    ],
)
def test_documented_examples_are_accepted(served, label, code, status):
    schema, headers = served
    operation = _operation(schema, label)
    (body,) = _documented_examples(operation)
    path_parameters = {"code": code} if code else None

    case = operation.Case(body=body, path_parameters=path_parameters)
    response = case.call_and_validate(headers=headers, checks=CHECKS)

    assert response.status_code == status, response.content


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_answers_as_documented(served, applications, label):
    schema, headers = served
    operation = _operation(schema, label)
    before = LoanProduct.objects.count()
    hidden = other_banks_applications_stay_hidden(applications["rival"])

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=_cases(operation, applications))
    def run(case):
        savepoint = transaction.savepoint()
        try:
            case.call_and_validate(
                headers=headers,
                checks=[*CHECKS, other_banks_products_stay_hidden, hidden],
            )
        finally:
            transaction.savepoint_rollback(savepoint)

    run()

    assert LoanProduct.objects.count() == before
