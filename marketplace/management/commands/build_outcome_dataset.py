"""Write the outcomes dataset: decided applications, their frozen snapshot and the
loan's outcome (``marketplace.outcomes``), the training set of the next model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketplace.outcomes import outcome_dataset_write


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--as-of {value!r} is not a date: write it as YYYY-MM-DD"
        ) from None


class Command(BaseCommand):
    help = (
        "Write one CSV row per decided loan application: its frozen score and "
        "features, the decision and the outcome label (1 overdue, 0 repaid, empty "
        "not known yet)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="the CSV file to write")
        parser.add_argument(
            "--as-of",
            dest="as_of",
            default=None,
            help="YYYY-MM-DD: the file as it could have been built at the end of "
            "that day (later decisions and outcome reports are left out)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        as_of = _date(options["as_of"])
        try:
            count = outcome_dataset_write(path=out, as_of=as_of)
        except OSError as error:
            raise CommandError(
                f"cannot write {out}: {error.strerror or error}"
            ) from error
        self.stdout.write(f"{count} decided application(s) written to {out}")
