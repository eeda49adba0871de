"""Row locks on lenders' records, taken the same way at every call site."""

from __future__ import annotations

from lenders.models import LoanProduct


def product_lock(*, product_pk: int) -> LoanProduct:
    """Lock one product row, and its lender's, for a change of its terms or status."""
    return (
        LoanProduct.objects.select_for_update()
        .select_related("lender")
        .get(pk=product_pk)
    )
