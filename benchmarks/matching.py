"""Matching one enterprise against 5,000 listed products: p50/p95 and SQL queries.

A throwaway SQLite database (a temporary directory, migrated) is loaded with
``--products`` listed products of ten banks (``bulk_create``; about a third
restricted to a few districts, a third to a few industries, thresholds of every
kind), and one enterprise with a stored score. Then, in turns, ``--runs`` times each:

* **warm** — what the dashboard panel does (``marketplace.selectors``): the score's
  facts, the ranking from the cached catalogue, the cards of the top 5 matches and
  3 near misses (the catalogue is this process's copy: only its fingerprint is read);
* **shared** — the same with this process's copy dropped before each run: the
  catalogue comes from the shared cache (a second web worker);
* **cold** — the same with the cache emptied too: the catalogue is read and built
  (the first request after a change to the catalogue);
* **baseline** — the naive ORM loop: every listed product as a model instance with
  its districts and industries prefetched, each turned into the same row and ranked
  by the same code, so only the data path differs;
* **page** — the dashboard panel's HTTP request (``/portal/enterprise/matches/top/``,
  test client, signed in), warm.

The baseline takes seconds a run, so it is timed in every ``--baseline-every``-th
round only (50 of 200 by default). Garbage is collected before each timed run, so no
variant pays for another's.

Prints p50/p95 in milliseconds (p95 by nearest rank), the SQL queries of one run,
and each variant's ratio to the baseline's p50, measured in the same process.

    .venv/bin/python benchmarks/matching.py --products 5000 --runs 200
    .venv/bin/python benchmarks/matching.py --products 5000 --runs 200 --distinct
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DISTRICTS = ["440303", "440304", "440305", "440306", "440307", "440309"]
INDUSTRIES = ["C", "F", "G", "I", "M"]


def _setup(database: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]


def _load(products: int, distinct: bool = False):
    """The catalogue and one scored enterprise (Nanshan, IT, grade B); returns the
    enterprise and its owner. ``distinct``: every product's rules differ (its
    minimum years cycle over 491 values, a prime), so none is judged with another."""
    import datetime as dt
    import math as _math

    import numpy as np
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    call_command("migrate", "--noinput", verbosity=0)
    from accounts.models import Membership, Organization, OrganizationKind, Role, User
    from borrowers.models import Enterprise, VerificationMethod, VerificationStatus
    from lenders.models import (
        Lender,
        LoanProduct,
        LoanProductDistrict,
        LoanProductIndustry,
        ProductStatus,
    )
    from scoring.features import FEATURE_SET, FEATURES, FEATURES_REVISION
    from scoring.models import CreditScore, FeatureSet, FeatureVector, ModelVersion

    with transaction.atomic():
        lenders = [
            Lender.objects.create(
                organization=Organization.objects.create(
                    kind=OrganizationKind.LENDER, name=f"基准银行{n}"
                ),
                name=f"基准银行{n}股份有限公司",
                short_name=f"基准银行{n}",
            )
            for n in range(10)
        ]
        now = timezone.now()
        rows = []
        for n in range(products):
            rate = Decimal("3.00") + Decimal(n % 40) / 10
            rows.append(
                LoanProduct(
                    lender=lenders[n % 10],
                    code=f"bench-{n:05d}",
                    name=f"基准贷{n}号",
                    product_type="credit",
                    guarantee_type="none",
                    amount_min=Decimal("100000") * (1 + n % 5),
                    amount_max=Decimal("3000000") * (1 + n % 3),
                    term_min=6,
                    term_max=36,
                    rate_min=rate,
                    rate_max=rate + 2,
                    repayment_method="equal_instalment",
                    min_grade=["", "D", "C", "B", "A"][n % 5],
                    min_years_in_business=(
                        Decimal(n % 491) / 10 if distinct else Decimal(n % 8)
                    ),
                    min_tax_credit_grade=["", "M", "B", "A"][n % 4],
                    excludes_dishonest_debtors=n % 3 != 0,
                    excludes_unrepaired_serious_penalty=n % 2 == 0,
                    response_days=5,
                    status=ProductStatus.LISTED,
                    listed_at=now,
                )
            )
        LoanProduct.objects.bulk_create(rows, batch_size=500)
        listed = list(
            LoanProduct.objects.filter(status=ProductStatus.LISTED).values_list(
                "pk", flat=True
            )
        )
        LoanProductDistrict.objects.bulk_create(
            [
                LoanProductDistrict(product_id=pk, district=district)
                for index, pk in enumerate(listed)
                if index % 3 == 1
                for district in DISTRICTS[index % 4 : index % 4 + 2]
            ],
            batch_size=1000,
        )
        LoanProductIndustry.objects.bulk_create(
            [
                LoanProductIndustry(product_id=pk, industry=industry)
                for index, pk in enumerate(listed)
                if index % 3 == 2
                for industry in INDUSTRIES[index % 3 : index % 3 + 2]
            ],
            batch_size=1000,
        )

        organization = Organization.objects.create(
            kind=OrganizationKind.ENTERPRISE, name="深圳市基准科技有限公司"
        )
        enterprise = Enterprise.objects.create(
            organization=organization,
            uscc="91440300708461136T",
            name=organization.name,
            legal_representative="苏俊",
            registered_capital=Decimal("5000000"),
            founded_on=dt.date(2019, 6, 1),
            industry="I",
            district="440305",
            employees=40,
            verification_status=VerificationStatus.VERIFIED,
            verification_method=VerificationMethod.REGISTERED_CONTACT_CODE,
            verified_at=now,
        )
        owner = User.objects.create_user(email="bench-owner@example.cn", password=None)
        Membership.objects.create(
            user=owner, organization=organization, role=Role.OWNER
        )
        model = ModelVersion.objects.create(
            version="bench",
            kind="platform",
            artifact="models/none.ubj",
            artifact_sha256="0" * 64,
            features=[{"name": feature.name} for feature in FEATURES],
            monotone_constraints=[],
            calibration={},
            scale={},
            training_data_sha256="0" * 64,
            metrics={},
            is_champion=True,
            promoted_at=now,
        )
        names = [feature.name for feature in FEATURES]
        feature_set = FeatureSet.objects.create(
            key=FEATURE_SET, names=names, revision=FEATURES_REVISION
        )
        given = {
            "tax_credit_grade": 3.0,
            "dishonest_debtor": 0.0,
            "unrepaired_penalties": 1.0,
            "serious_penalties_36m": 0.0,
        }
        values = np.array([given.get(name, _math.nan) for name in names], dtype="<f8")
        vector = FeatureVector.objects.create(
            enterprise=enterprise,
            feature_set=feature_set,
            as_of=timezone.localdate(),
            values=values.tobytes(),
        )
        CreditScore.objects.create(
            enterprise=enterprise,
            model_version=model,
            as_of=vector.as_of,
            score=640.0,
            pd=0.04,
            margin=_math.log(0.04 / 0.96),
            grade="B",
            feature_vector=vector,
            contribution_values=np.zeros(len(names) + 1, dtype="<f4").tobytes(),
            reasons=[
                {
                    "factor": "penalties",
                    "feature": "unrepaired_penalties",
                    "contribution": 0.5,
                }
            ],
        )
    return enterprise, owner


def _panel(enterprise, limit: int | None = 5):
    """What the dashboard panel computes (``marketplace.views.top_matches``)."""
    from marketplace import selectors

    facts = selectors.enterprise_match_facts(enterprise=enterprise)
    ranking = selectors.enterprise_ranking(
        facts=facts, limit=limit, near_limit=3 if limit else None
    )
    cards = selectors.match_cards(
        facts=facts, matches=[*ranking.eligible[:5], *ranking.near_misses[:3]]
    )
    return ranking, cards


def _baseline(enterprise, limit: int | None = 5):
    """The naive path: model instances with prefetched places, every run."""
    from lenders.models import LoanProduct, ProductStatus
    from marketplace import selectors
    from marketplace.matching import CATALOGUE_COLUMNS, catalogue_row, rank, scaled

    facts = selectors.enterprise_match_facts(enterprise=enterprise)
    products = LoanProduct.objects.filter(status=ProductStatus.LISTED).prefetch_related(
        "districts", "industries"
    )
    rows = [
        catalogue_row(
            # The columns are the model's attribute names too.
            scaled([getattr(product, name) for name in CATALOGUE_COLUMNS]),
            districts=[row.district for row in product.districts.all()],
            industries=[row.industry for row in product.industries.all()],
        )
        for product in products
    ]
    ranking = rank(facts, rows, limit=limit, near_limit=3 if limit else None)
    cards = selectors.match_cards(
        facts=facts, matches=[*ranking.eligible[:5], *ranking.near_misses[:3]]
    )
    return ranking, cards


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(round(0.95 * len(ordered), 9))) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument(
        "--distinct",
        action="store_true",
        help="give every product rules of its own (the engine's worst case)",
    )
    parser.add_argument(
        "--baseline-every",
        type=int,
        default=4,
        help="time the (slow) baseline in every n-th round only",
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _setup(Path(folder) / "bench.sqlite3")
        enterprise, owner = _load(arguments.products, arguments.distinct)
        from django.core.cache import cache
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from marketplace import selectors

        client = Client()
        client.force_login(owner)

        def shared():
            selectors.matching_catalogue_forget()
            return _panel(enterprise)

        def cold():
            cache.clear()
            selectors.matching_catalogue_forget()
            return _panel(enterprise)

        def page():
            response = client.get("/portal/enterprise/matches/top/")
            assert response.status_code == 200
            return response

        variants = {
            "warm": lambda: _panel(enterprise),
            "shared": shared,
            "cold": cold,
            "baseline": lambda: _baseline(enterprise),
            "page": page,
        }
        # The two paths rank alike (in full, and the panel's top five).
        reference, _cards = _baseline(enterprise, limit=None)
        check, _cards = _panel(enterprise, limit=None)
        assert [m.pk for m in _panel(enterprise)[0].eligible] == [
            m.pk for m in reference.eligible[:5]
        ]
        assert [m.pk for m in check.eligible] == [m.pk for m in reference.eligible]
        assert [m.pk for m in check.near_misses] == [
            m.pk for m in reference.near_misses
        ]
        queries = {}
        for name, run in variants.items():
            for _ in range(5):  # warm: templates compiled, caches filled
                run()
            if name == "cold":
                cache.clear()
                selectors.matching_catalogue_forget()
            with CaptureQueriesContext(connection) as captured:
                run()
            queries[name] = len(captured.captured_queries)
        times: dict[str, list[float]] = {name: [] for name in variants}
        for number in range(arguments.runs):
            for name, run in variants.items():
                if name == "baseline" and number % arguments.baseline_every:
                    continue
                # Each variant starts with no other variant's garbage to collect.
                gc.collect()
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
        distinct_rules = len({row.rules for row in selectors.matching_catalogue().rows})
    baseline = statistics.median(times["baseline"])
    print(
        f"{arguments.products} listed products ({distinct_rules} distinct sets of "
        f"rules), {arguments.runs} rounds in turns (baseline: "
        f"{len(times['baseline'])} runs); {len(check.eligible)} eligible, "
        f"{len(check.near_misses)} near misses"
    )
    print(f"{'variant':<10}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}{'÷ baseline':>12}")
    for name in variants:
        p50 = statistics.median(times[name])
        print(
            f"{name:<10}{p50 * 1000:>9.1f}{_p95(times[name]) * 1000:>9.1f}"
            f"{queries[name]:>9}{p50 / baseline:>12.3f}"
        )


if __name__ == "__main__":
    main()
