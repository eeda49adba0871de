"""``manage.py build_outcome_dataset``: decided applications, their frozen snapshot and
the loan's outcome, with nothing from after the decision (or after ``--as-of``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from borrowers.models import ConsentPurpose
from marketplace import outcomes, services
from marketplace.models import Application
from scoring.features import FEATURES
from tests.factories.borrowers import enterprise_with_owner, grant
from tests.factories.lenders import lender_with_staff, listed_product
from tests.factories.marketplace import bank_actor, sme_actor, submitted_application
from tests.factories.scoring import champion_version, stored_score

pytestmark = pytest.mark.django_db

FEATURE_COLUMNS = sorted(f"feature_{feature.name}" for feature in FEATURES)
HEADER = [*outcomes.COLUMNS, *FEATURE_COLUMNS]


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.start = self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, **delta: float) -> dt.datetime:
        self.now = self.start + dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Time under the test's control: from 09:00 tomorrow (Asia/Shanghai), so local
    dates do not roll over between the steps of one day."""
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    start = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(9, 0)))
    clock = Clock(start)
    monkeypatch.setattr(timezone, "now", clock)
    return clock


def _application(product, *, score: float, pd: float, grade: str, features: dict):
    enterprise, owner = enterprise_with_owner()
    grant(enterprise, owner, purpose=ConsentPurpose.SCORING)
    stored_score(enterprise, score=score, pd=pd, grade=grade, features=features)
    return submitted_application(product=product, enterprise=enterprise, owner=owner)


def _review(application, bank):
    application = services.application_accept(application=application, actor=bank)
    return services.application_start_review(application=application, actor=bank)


def _approve(application, bank):
    return services.application_approve(
        application=application,
        actor=bank,
        amount=Decimal("300000"),
        rate=Decimal("4.20"),
        term=12,
    )


@pytest.fixture
def book(clock):
    """A small book: rejected; approved and repaid; approved, overdue, then repaid;
    counter-offered and declined; one still under review."""
    lender, _admin, _reviewer = lender_with_staff()
    product = listed_product(lender=lender, required_categories=["tax"])
    rejected = _application(
        product, score=512.5, pd=0.2125, grade="D", features={"years_in_business": 1.0}
    )
    repaid = _application(
        product,
        score=701.0,
        pd=0.015,
        grade="A",
        features={"years_in_business": 9.0, "tax_paid_12m_log": 11.25},
    )
    overdue = _application(
        product,
        score=640.0,
        pd=0.04,
        grade="B",
        features={"years_in_business": 4.0, "unrepaired_penalties": 2.0},
    )
    declined = _application(
        product, score=600.0, pd=0.0625, grade="C", features={"patents_count": 3.0}
    )
    pending = _application(
        product, score=655.0, pd=0.03, grade="B", features={"years_in_business": 5.0}
    )
    bank = bank_actor(rejected, "reviewer")
    admin = bank_actor(rejected, "admin")
    for application in (rejected, repaid, overdue, declined, pending):
        _review(application, bank)

    clock.at(hours=1)
    services.application_reject(
        application=rejected,
        actor=bank,
        reasons=["credit_grade"],
        note="评级不足。",
    )
    clock.at(hours=2)
    _approve(repaid, bank)
    clock.at(hours=3)
    services.application_disburse(
        application=repaid,
        actor=admin,
        amount=Decimal("300000"),
        disbursed_on=timezone.localdate(),
    )
    clock.at(hours=4)
    _approve(overdue, bank)
    clock.at(hours=5)
    services.application_disburse(
        application=overdue,
        actor=admin,
        amount=Decimal("250000"),
        disbursed_on=timezone.localdate(),
    )
    clock.at(hours=6)
    services.application_counter_offer(
        application=declined,
        actor=bank,
        amount=Decimal("200000"),
        rate=Decimal("5.10"),
        term=6,
    )
    clock.at(hours=7)
    services.application_decline_offer(application=declined, actor=sme_actor(declined))
    clock.at(days=35)
    services.application_report_overdue(
        application=overdue, actor=admin, days_past_due=30
    )
    clock.at(days=40)
    services.application_report_repaid(
        application=repaid, actor=admin, repaid_on=timezone.localdate()
    )
    clock.at(days=60)
    services.application_report_repaid(
        application=overdue, actor=admin, repaid_on=timezone.localdate()
    )
    clock.at(days=61)
    return {
        name: Application.objects.get(pk=application.pk)
        for name, application in {
            "rejected": rejected,
            "repaid": repaid,
            "overdue": overdue,
            "declined": declined,
            "pending": pending,
        }.items()
    }


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _expected(application, *, decision, outcome="", days="", label="", features):
    row = {
        "reference": application.reference,
        "decided_at": application.decided_at.astimezone(dt.UTC).isoformat(),
        "product_type": "credit",
        "lender_id": str(application.lender_id),
        "lender": application.lender.name,
        "model_version": "test-champion",
        "score": repr(application.snapshot_score),
        "pd": repr(application.snapshot_pd),
        "grade": application.snapshot_grade,
        "decision": decision,
        "outcome": outcome,
        "days_past_due": days,
        "label": label,
    }
    row.update(dict.fromkeys(FEATURE_COLUMNS, ""))
    row.update({f"feature_{name}": value for name, value in features.items()})
    return row


def _build(path: Path, *arguments: str) -> str:
    out = io.StringIO()
    call_command("build_outcome_dataset", "--out", str(path), *arguments, stdout=out)
    return out.getvalue()


def test_the_dataset_has_one_row_per_decided_application_with_its_frozen_snapshot_and_label(
    book, clock, tmp_path
):
    path = tmp_path / "outcomes.csv"

    message = _build(path)

    header, rows = _read(path)
    assert header == HEADER
    assert rows == [
        _expected(
            book["rejected"], decision="rejected", features={"years_in_business": "1.0"}
        ),
        _expected(
            book["repaid"],
            decision="approved",
            outcome="repaid",
            label="0",
            features={"years_in_business": "9.0", "tax_paid_12m_log": "11.25"},
        ),
        _expected(
            book["overdue"],
            decision="approved",
            outcome="overdue",
            days="30",
            label="1",
            features={"years_in_business": "4.0", "unrepaired_penalties": "2.0"},
        ),
        _expected(
            book["declined"],
            decision="counter_offered",
            features={"patents_count": "3.0"},
        ),
    ]
    assert [row["decided_at"] for row in rows] == [
        (clock.start + dt.timedelta(hours=hours)).astimezone(dt.UTC).isoformat()
        for hours in (1, 2, 4, 6)
    ]
    assert rows[0]["score"] == "512.5" and rows[0]["pd"] == "0.2125"
    assert message == f"4 decided application(s) written to {path}\n"


def test_as_of_leaves_out_outcomes_reported_later(book, clock, tmp_path):
    def labels(day: int) -> dict[str, tuple[str, str, str]]:
        path = tmp_path / f"day-{day}.csv"
        as_of = timezone.localdate(clock.start + dt.timedelta(days=day))
        _build(path, "--as-of", as_of.isoformat())
        _header, rows = _read(path)
        assert [row["reference"] for row in rows] == [
            book[name].reference
            for name in ("rejected", "repaid", "overdue", "declined")
        ]
        return {
            row["reference"]: (row["outcome"], row["days_past_due"], row["label"])
            for row in rows
        }

    overdue, repaid = book["overdue"].reference, book["repaid"].reference
    # Day 34: nothing reported yet. Day 35: the arrears. Day 40: the repayment of
    # the other loan. Day 60: the overdue loan repaid: it stays a 1.
    assert (labels(34)[overdue], labels(34)[repaid]) == (("", "", ""), ("", "", ""))
    assert (labels(35)[overdue], labels(35)[repaid]) == (
        ("overdue", "30", "1"),
        ("", "", ""),
    )
    assert (labels(40)[overdue], labels(40)[repaid]) == (
        ("overdue", "30", "1"),
        ("repaid", "", "0"),
    )
    assert labels(60)[overdue] == ("overdue", "30", "1")


def test_as_of_before_a_decision_leaves_the_application_out(book, clock, tmp_path):
    path = tmp_path / "outcomes.csv"
    the_day_before = timezone.localdate(clock.start) - dt.timedelta(days=1)

    message = _build(path, "--as-of", the_day_before.isoformat())

    header, rows = _read(path)
    assert (header, rows) == (list(outcomes.COLUMNS), [])
    assert message == f"0 decided application(s) written to {path}\n"


def test_as_of_the_decision_day_includes_the_decisions_without_their_outcomes(
    book, clock, tmp_path
):
    path = tmp_path / "outcomes.csv"

    _build(path, "--as-of", timezone.localdate(clock.start).isoformat())

    _header, rows = _read(path)
    assert [(row["decision"], row["outcome"], row["label"]) for row in rows] == [
        ("rejected", "", ""),
        ("approved", "", ""),
        ("approved", "", ""),
        ("counter_offered", "", ""),
    ]


def test_rescoring_after_the_decision_changes_no_row(book, clock, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    _build(first)

    # A new champion rescores every applicant with other values.
    model = champion_version("v2-challenger")
    for application in book.values():
        stored_score(
            application.enterprise,
            model=model,
            score=300.0,
            pd=0.5,
            grade="D",
            features={"years_in_business": 99.0, "court_judgements_36m": 7.0},
        )
    _build(second)

    assert second.read_bytes() == first.read_bytes()


def test_a_bad_date_is_refused_and_writes_nothing(tmp_path):
    path = tmp_path / "outcomes.csv"

    with pytest.raises(CommandError) as refused:
        _build(path, "--as-of", "2026-13-01")

    assert str(refused.value) == (
        "--as-of '2026-13-01' is not a date: write it as YYYY-MM-DD"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("missing/outcomes.csv", "No such file or directory"),
        ("a-file/outcomes.csv", "Not a directory"),
        ("a-directory", "Is a directory"),
    ],
)
def test_an_unwritable_path_is_refused_with_the_reason(tmp_path, where, reason):
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "a-directory").mkdir()
    path = tmp_path / where

    with pytest.raises(CommandError) as refused:
        _build(path)

    assert str(refused.value) == f"cannot write {path}: {reason}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory", "a-file"]
    assert list((tmp_path / "a-directory").iterdir()) == []


def test_a_failed_write_leaves_the_previous_file_and_no_partial_one(
    book, tmp_path, monkeypatch
):
    path = tmp_path / "outcomes.csv"
    path.write_text("the previous dataset\n", encoding="utf-8")

    def full_disk(self, rows):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outcomes.csv.DictWriter, "writerows", full_disk)
    with pytest.raises(CommandError) as refused:
        _build(path)

    assert str(refused.value) == f"cannot write {path}: No space left on device"
    assert path.read_text(encoding="utf-8") == "the previous dataset\n"
    assert [p.name for p in tmp_path.iterdir()] == ["outcomes.csv"]


def test_out_is_required():
    with pytest.raises(CommandError) as refused:
        call_command("build_outcome_dataset")

    assert str(refused.value) == ("Error: the following arguments are required: --out")
