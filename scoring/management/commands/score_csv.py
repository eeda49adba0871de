"""Score a CSV with a model trained by ``train_model --csv``.

The output has one row per input row, in input order, with ``pd, score, grade,
reason_1..reason_4`` (preceded by the id column when the model was trained with one and
the input has it), so it can be joined back to the input by position or by id. The file
is written under a temporary name and renamed at the end: a failed run leaves no
partial predictions behind.

A value the training data never had (a new category, or a non-number in a column that
held only numbers) does not fail the file: it is scored as a missing value of its
column, and the command says how many there were per column.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.tabular import TabularCreditModel, TabularDataError, read_csv


class Command(BaseCommand):
    help = "Score a CSV with a tabular credit model: PD, score, grade and reasons."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True, help="model directory")
        parser.add_argument("--csv", required=True, help="CSV to score")
        parser.add_argument("--out", required=True, help="predictions CSV to write")

    def handle(self, *args: Any, **options: Any) -> None:
        model_dir, csv, out = (
            Path(options["model"]),
            Path(options["csv"]),
            Path(options["out"]),
        )
        try:
            model = TabularCreditModel.load(model_dir)
        except (OSError, ValueError, KeyError) as exc:
            # ValueError includes XGBoostError (a corrupt model.ubj).
            raise CommandError(f"cannot load model {model_dir}: {exc}") from exc
        try:
            frame = read_csv(csv)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        try:
            scored = model.score(frame)
        except TabularDataError as exc:
            raise CommandError(f"{csv}: {exc}") from exc
        pred = scored.predictions
        if model.id_column and model.id_column in frame.columns:
            pred.insert(0, model.id_column, frame[model.id_column].to_numpy())

        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{out.name}.", suffix=".tmp", dir=out.parent
        )
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                pred.to_csv(fh, index=False)
            os.chmod(tmp, 0o644)
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        for line in scored.unseen_summary():
            self.stdout.write(self.style.WARNING(line))
        counts = pred["grade"].value_counts()
        names = model.scale.grade_names() if model.scale else sorted(counts.index)
        grades = ", ".join(f"{g} {int(counts.get(g, 0))}" for g in names)
        self.stdout.write(f"Scored {len(pred)} rows → {out} (grades: {grades})")
