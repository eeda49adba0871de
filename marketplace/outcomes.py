"""The outcomes dataset: decided applications joined to what was known of the
applicant when it applied, and the outcome of the loan — the training set the next
model learns from (``manage.py build_outcome_dataset``).

Nothing after the decision leaks in. The features are the values frozen on the
application at submission (``snapshot_features``), never re-read from the
enterprise's current vectors, so rescoring after the decision changes no row. The
label is what the bank reported, by the report's own time in the history: with an
``as_of`` date the file is the one that could have been built at the end of that day
(Asia/Shanghai), leaving out applications decided later and outcomes reported later.

The label is whether the borrower fell behind: ``1`` once the bank reported the
loan overdue (even if it was repaid afterwards), ``0`` when it was reported repaid
without having been overdue, empty while no outcome is known (not lent, not yet
disbursed, still running).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils import timezone

from marketplace import selectors
from marketplace.models import Application, ApplicationEvent, OutcomeLabel
from marketplace.transitions import DECISIONS, TRANSITIONS

#: The columns every row has, in order; the feature columns follow, sorted by name.
COLUMNS: tuple[str, ...] = (
    "reference",
    "decided_at",
    "product_type",
    "lender_id",
    "lender",
    "model_version",
    "score",
    "pd",
    "grade",
    "decision",
    "outcome",
    "days_past_due",
    "label",
)
FEATURE_PREFIX = "feature_"
LABELS: dict[str, str] = {
    OutcomeLabel.OVERDUE.value: "1",
    OutcomeLabel.REPAID.value: "0",
}


@dataclass(frozen=True)
class OutcomeDataset:
    columns: list[str]
    rows: list[dict[str, str]]


def _cutoff(as_of: dt.date | None) -> dt.datetime | None:
    """The first moment after ``as_of`` (midnight of the next day, local time)."""
    if as_of is None:
        return None
    return timezone.make_aware(
        dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min)
    )


def _number(value: Any) -> str:
    """A value as the CSV shows it: shortest round-trip text, empty when missing."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(int(value))
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def _outcome(
    events: Iterable[ApplicationEvent], cutoff: dt.datetime | None
) -> tuple[str, str]:
    """(outcome, days past due) as reported before ``cutoff``."""
    known = [e for e in events if cutoff is None or e.created_at < cutoff]
    overdue = [e for e in known if e.action == "report_overdue"]
    if overdue:
        return OutcomeLabel.OVERDUE.value, _number(
            overdue[-1].data.get("days_past_due")
        )
    if any(e.action == "report_repaid" for e in known):
        return OutcomeLabel.REPAID.value, ""
    return "", ""


def _row(application: Application, cutoff: dt.datetime | None) -> dict[str, str]:
    events: list[ApplicationEvent] = getattr(application, "dataset_events", [])
    decision = next((e for e in events if e.action in DECISIONS), None)
    outcome, days_past_due = _outcome(events, cutoff)
    assert application.decided_at is not None  # the selector's filter
    row = {
        "reference": application.reference,
        "decided_at": application.decided_at.astimezone(dt.UTC).isoformat(),
        "product_type": application.product.product_type,
        "lender_id": str(application.lender_id),
        "lender": application.lender.name,
        "model_version": application.snapshot_model_version,
        "score": _number(application.snapshot_score),
        "pd": _number(application.snapshot_pd),
        "grade": application.snapshot_grade,
        # The bank's own decision (an accepted counter-offer stays a counter-offer).
        "decision": str(TRANSITIONS[decision.action].target) if decision else "",
        "outcome": outcome,
        "days_past_due": days_past_due,
        "label": LABELS.get(outcome, ""),
    }
    for name, value in (application.snapshot_features or {}).items():
        row[FEATURE_PREFIX + name] = _number(value)
    return row


def outcome_dataset(*, as_of: dt.date | None = None) -> OutcomeDataset:
    """Every decided application (decided by the end of ``as_of``, when given), in
    decision order, with its frozen snapshot and its outcome as known then."""
    cutoff = _cutoff(as_of)
    rows = [
        _row(application, cutoff)
        for application in selectors.outcome_dataset_applications(
            decided_before=cutoff
        ).iterator(chunk_size=1000)
    ]
    features = sorted({name for row in rows for name in row} - set(COLUMNS))
    return OutcomeDataset(columns=[*COLUMNS, *features], rows=rows)


def outcome_dataset_write(*, path: Path, as_of: dt.date | None = None) -> int:
    """Write the dataset to ``path`` as CSV (UTF-8, a header row); return the number
    of applications. Written under a temporary name and renamed at the end, so a
    failed run leaves no partial file. ``OSError`` when ``path`` cannot be written."""
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))
    dataset = outcome_dataset(as_of=as_of)
    descriptor, temporary_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=dataset.columns, restval="")
            writer.writeheader()
            writer.writerows(dataset.rows)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return len(dataset.rows)
