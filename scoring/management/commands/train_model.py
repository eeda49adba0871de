"""Train a credit-scoring model.

Two modes:

* ``--csv TRAIN.csv --target COL --bad VALUE --out DIR`` trains the generic tabular
  model (:mod:`scoring.tabular`) on any CSV a partner hands us;
* without ``--csv`` it trains the platform model on the platform's own data
  (``scoring.training.train_platform_model``).

A model directory is either complete or absent: the model is written into a temporary
sibling directory and renamed into place only once every file is there, so a failure
(bad data, a full disk, Ctrl-C) never leaves a half-written model for ``score_csv`` or
the registry to pick up.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.tabular import (
    TabularCreditModel,
    TabularDataError,
    parse_columns,
    parse_monotone,
    read_csv,
    sha256_file,
)


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``, replacing an existing ``out`` only at the end."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


class Command(BaseCommand):
    help = (
        "Train a credit model: the generic tabular model on a CSV (--csv), or the "
        "platform model on the platform's data (without --csv)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", help="training CSV (generic tabular mode)")
        parser.add_argument("--target", help="target column (with --csv)")
        parser.add_argument(
            "--bad", help="value of the target that means bad/default (with --csv)"
        )
        parser.add_argument("--out", default=None, help="output model directory")
        parser.add_argument(
            "--id-column", help="row identifier column, excluded from the features"
        )
        parser.add_argument(
            "--monotone",
            help=(
                "numeric columns with a monotone effect, e.g. 'overdue_days=1,"
                "income=-1'; 1 = a higher value can only raise the PD, -1 = only "
                "lower it"
            ),
        )
        parser.add_argument(
            "--numeric",
            help=(
                "columns that must be numeric, e.g. 'income,age': a value that is not "
                "a number there stops the training (other columns' types are "
                "inferred; see scoring/tabular.py)"
            ),
        )
        parser.add_argument(
            "--categorical",
            help="columns to one-hot even if they hold numbers, e.g. 'district_code'",
        )
        parser.add_argument("--seed", type=int, default=settings.SCORING_SEED)
        parser.add_argument("--nthread", type=int, default=settings.SCORING_NTHREAD)
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar"
        )
        parser.add_argument(
            "--force", action="store_true", help="replace a non-empty --out directory"
        )
        parser.add_argument(
            "--enterprises",
            type=int,
            default=6000,
            help="platform mode: number of synthetic enterprises",
        )
        parser.add_argument(
            "--vintages", type=int, default=4, help="platform mode: number of vintages"
        )
        parser.add_argument(
            "--promote",
            action="store_true",
            help="platform mode: promote the new model in the registry",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["csv"]:
            csv_only = [
                flag
                for flag, key in (
                    ("--target", "target"),
                    ("--bad", "bad"),
                    ("--id-column", "id_column"),
                    ("--monotone", "monotone"),
                    ("--numeric", "numeric"),
                    ("--categorical", "categorical"),
                )
                if options.get(key)
            ]
            if csv_only:
                raise CommandError(f"{', '.join(csv_only)} only apply with --csv")
            from scoring.training import train_platform_model

            try:
                train_platform_model(
                    out=options["out"],
                    enterprises=options["enterprises"],
                    vintages=options["vintages"],
                    seed=options["seed"],
                    nthread=options["nthread"],
                    progress=not options["no_progress"],
                    promote=options["promote"],
                    stdout=self.stdout,
                )
            except ValueError as exc:  # e.g. an out-of-range --vintages
                raise CommandError(str(exc)) from exc
            return
        self._train_csv(options)

    def _train_csv(self, options: dict[str, Any]) -> None:
        absent = [
            flag
            for flag, key in (
                ("--target", "target"),
                ("--bad", "bad"),
                ("--out", "out"),
            )
            if options.get(key) in (None, "")
        ]
        if absent:
            raise CommandError(f"--csv also needs {', '.join(absent)}")
        csv, out = Path(options["csv"]), Path(options["out"])
        if not csv.is_file():
            raise CommandError(f"CSV file {csv} does not exist")
        if out.exists() and not out.is_dir():
            raise CommandError(f"output path {out} exists and is not a directory")
        if out.is_dir() and any(out.iterdir()) and not options["force"]:
            raise CommandError(
                f"output directory {out} exists and is not empty; "
                "pass --force to replace it"
            )
        try:
            monotone = parse_monotone(options["monotone"])
            numeric = parse_columns(options["numeric"], "--numeric")
            categorical = parse_columns(options["categorical"], "--categorical")
            frame = read_csv(csv)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Training on {csv} ({len(frame)} rows, {frame.shape[1]} columns)…"
        )
        try:
            model = TabularCreditModel().fit(
                frame,
                target=options["target"],
                bad_value=options["bad"],
                id_column=options["id_column"],
                monotone=monotone,
                numeric=numeric,
                categorical=categorical,
                seed=options["seed"],
                nthread=options["nthread"],
                progress=not options["no_progress"],
                name=csv.name.split(".")[0],
                data_sha256=sha256_file(csv),
            )
        except TabularDataError as exc:
            raise CommandError(f"{csv}: {exc}") from exc

        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        )
        try:
            model.save(tmp)
            # mkdtemp makes the directory private (0700); a model dir is not secret.
            os.chmod(tmp, 0o755)  # noqa: S103
            _move_into_place(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._print_summary(model, out)

    def _print_summary(self, model: TabularCreditModel, out: Path) -> None:
        card = model.card
        met = card["metrics"]
        self.stdout.write(
            f"Model written to {out} ({card['n_rounds']} trees, "
            f"{len(card['features'])} columns, {card['encoded_features']} features)"
        )
        # Every column that is not a plain number column, by name; those by count.
        self.stdout.write("Columns (treatment — why; every column in model_card.json):")
        plain = []
        for feature in card["features"]:
            if feature["kind"] == "numeric" and not feature["declared"]:
                plain.append(feature["name"])
            else:
                name = feature["name"]
                self.stdout.write(f"  {name}: {card['column_treatments'][name]}")
        if plain:
            self.stdout.write(
                f"  {len(plain)} other column(s) numeric (every non-missing value is "
                f"a number): {', '.join(plain[:8])}{', …' if len(plain) > 8 else ''}"
            )
        self.stdout.write(f"Validation ({card['validation']}):")

        def fmt(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.4f}"

        self.stdout.write(
            f"  rows {met['n']}  bad rate {fmt(met['bad_rate'])}  AUC {fmt(met['auc'])}"
            f"  KS {fmt(met['ks'])}  Brier {fmt(met['brier'])}  ECE {fmt(met['ece'])}"
        )
        for row in met["grade_table"]:
            rate = row["default_rate"]
            shown = "—" if rate is None else f"{rate:.2%}"
            self.stdout.write(
                f"  grade {row['grade']}: {row['n']:>7} rows, {row['defaults']:>6} "
                f"defaults, default rate {shown}"
            )
        self.stdout.write(self.style.SUCCESS(f"Report: {out / 'report.html'}"))
