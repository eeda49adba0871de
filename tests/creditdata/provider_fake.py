"""A provider answered by ``responses`` (the HTTP boundary), with hand-made records."""

from __future__ import annotations

import json
from collections.abc import Callable

import responses

BASE = "https://provider.test/v1"


def tax(uscc: str, month: str, paid: str = "1000.00", arrears: str = "0.00") -> dict:
    return {
        "id": f"tax-{uscc}-{month}",
        "category": "tax",
        "period": month,
        "tax_paid": paid,
        "arrears": arrears,
        "credit_grade": "B",
    }


def penalty(uscc: str, number: str, decided_on: str, repaired: bool = False) -> dict:
    return {
        "id": f"adm-{uscc}-{number}",
        "category": "administrative",
        "record_type": "penalty",
        "decision_number": number,
        "authority": "深圳市市场监督管理局",
        "decided_on": decided_on,
        "amount": "5000.00",
        "severity": "general",
        "repaired": repaired,
        "repaired_on": None,
        "description": "未按规定公示年度报告",
    }


def customs(uscc: str, month: str) -> dict:
    return {
        "id": f"cus-{uscc}-{month}",
        "category": "customs",
        "period": month,
        "imports": "10.00",
        "exports": "20.00",
    }


def serve(
    mock: responses.RequestsMock,
    uscc: str,
    category: str,
    pages: list[list[dict]] | None = None,
    *,
    body: str | None = None,
    before: Callable[[], None] | None = None,
) -> None:
    """Serve ``pages`` of ``category`` for ``uscc`` with cursor pagination."""
    url = f"{BASE}/enterprises/{uscc}/records/{category}"
    pages = pages if pages is not None else [[]]

    def callback(request):
        if before is not None:
            before()
        if body is not None:
            return (200, {"Content-Type": "application/json"}, body)
        cursor = request.params.get("cursor")
        index = int(cursor) if cursor else 0
        next_cursor = str(index + 1) if index + 1 < len(pages) else None
        return (
            200,
            {
                "Content-Type": "application/json",
                "X-Request-Id": f"req_{category}_{index}",
            },
            json.dumps({"data": pages[index], "next_cursor": next_cursor}),
        )

    mock.add_callback(responses.GET, url, callback=callback)
