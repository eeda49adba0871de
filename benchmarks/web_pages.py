"""Pages users wait for: the product supermarket (``/products/``, 500 listed
products) against the home page, per request, in one process and in turns.

Each round requests the home page and the product list (its first page, and a
filtered, sorted one), timing each request in full and the SQL inside it (a
database execute wrapper), so the figures split into Python and SQL. The figures
are medians over the rounds; the ratio is the product list's median over the home
page's, measured in the same run so that the machine's load moves both alike.

    .venv/bin/python benchmarks/web_pages.py --products 500 --rounds 200
    .venv/bin/python benchmarks/web_pages.py --products 500 --rounds 200 --cold

The product cards and the filter form are cached fragments (``lenders.supermarket``);
``--cold`` empties the cache before every request, so every card and the form are
rendered each time (the first visitor after a change, or a cache that is down).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup(database: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]


def _load(products: int) -> None:
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import translation

    call_command("migrate", "--noinput", verbosity=0)
    from accounts import seed as account_seed
    from cms import seed as cms_seed
    from lenders import seed as lender_seed
    from lenders.models import LoanProduct, LoanProductDistrict, LoanProductIndustry

    with transaction.atomic(), translation.override("en"):
        account_seed.seed()
        cms_seed.seed()
        lender_seed.seed()
    templates = list(
        LoanProduct.objects.filter(status="listed").prefetch_related(
            "districts", "industries"
        )
    )
    districts = ["440303", "440304", "440305", "440306", "440307"]
    industries = ["C", "F", "G", "I", "M"]
    with transaction.atomic():
        for number in range(products - len(templates)):
            template = templates[number % len(templates)]
            clone = LoanProduct.objects.get(pk=template.pk)
            clone.pk = None
            clone.code = f"bench-{number:04d}"
            clone.name = f"{template.name} {number}"
            clone.rate_min = template.rate_min + number % 7
            clone.rate_max = max(clone.rate_max, clone.rate_min)
            clone.save()
            LoanProductDistrict.objects.create(
                product=clone, district=districts[number % 5]
            )
            LoanProductIndustry.objects.create(
                product=clone, industry=industries[number % 5]
            )
    assert LoanProduct.objects.filter(status="listed").count() >= products


@contextmanager
def _sql_timer(box: list[float]):
    from django.db import connection

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            box[0] += time.perf_counter() - started

    with connection.execute_wrapper(wrapper):
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty the cache before every request: no card or filter form is reused",
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        _setup(Path(folder) / "bench.sqlite3")
        _load(arguments.products)
        from django.core.cache import cache
        from django.test import Client

        client = Client()
        pages = {
            "home": "/",
            "products": "/products/",
            "products_filtered": "/products/?product_type=credit&sort=rate&page=2",
        }
        for path in pages.values():  # warm: templates compiled, caches filled
            for _ in range(5):
                assert client.get(path).status_code == 200, path
        totals: dict[str, list[float]] = {name: [] for name in pages}
        sqls: dict[str, list[float]] = {name: [] for name in pages}
        for _round in range(arguments.rounds):
            for name, path in pages.items():
                box = [0.0]
                if arguments.cold:
                    cache.clear()
                with _sql_timer(box):
                    started = time.perf_counter()
                    response = client.get(path)
                    elapsed = time.perf_counter() - started
                assert response.status_code == 200
                totals[name].append(elapsed)
                sqls[name].append(box[0])
    home = statistics.median(totals["home"])
    state = "cold cache" if arguments.cold else "warm cache"
    print(f"{arguments.products} listed products, {arguments.rounds} rounds, {state}")
    print(f"{'page':<20}{'median ms':>10}{'SQL ms':>8}{'Python ms':>10}{'× home':>8}")
    for name in pages:
        total = statistics.median(totals[name])
        sql = statistics.median(sqls[name])
        print(
            f"{name:<20}{total * 1000:>10.1f}{sql * 1000:>8.1f}"
            f"{(total - sql) * 1000:>10.1f}{total / home:>8.2f}"
        )


if __name__ == "__main__":
    main()
