"""Reading records into feature frames: PostgreSQL's ``COPY … TO STDOUT`` stream
(``scoring.storage.PostgresStorage``) against the portable ORM read
(``PortableStorage``: ``values_list``), on the batch benchmark's loaded database, in
chunks of 5,000 enterprises as ``features_refresh`` reads them.

With ``--baseline-rev REV`` the read of an earlier commit is timed too (its
``scoring/data.py`` loaded from git into this process, e.g. the SQL-assembled CSV read
that ``COPY`` replaced). Each chunk is read once untimed (its pages then
in memory for every reader), then by each reader in a rotating order; the figures are
the medians of the per-chunk ratios, so the machine's drift moves all sides alike.

    .venv/bin/python benchmarks/scoring_batch.py --enterprises 100000 --load-only
    .venv/bin/python benchmarks/feature_read.py --enterprises 20000 --baseline-rev 7131e5d
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
import types

from batch.database import DEFAULT_URL, ROOT, configure, loaded_enterprises


def _baseline_reader(revision: str):
    """``frames_from_database`` of ``revision``'s ``scoring/data.py``."""
    source = subprocess.run(
        ["git", "show", f"{revision}:scoring/data.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType(f"baseline_data_{revision}")
    exec(compile(source, f"{revision}:scoring/data.py", "exec"), module.__dict__)  # noqa: S102
    return module.frames_from_database


def _rows(frames) -> int:
    return sum(len(frame) for frame in frames.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--baseline-rev", default=None)
    arguments = parser.parse_args()
    if "bench" not in arguments.database_url:
        raise SystemExit("--database-url must name a benchmark database")
    if not loaded_enterprises(arguments.database_url):
        raise SystemExit("load the data first: benchmarks/scoring_batch.py --load-only")
    configure(arguments.database_url)

    from borrowers.models import Enterprise
    from scoring.storage import PortableStorage, PostgresStorage

    ids = list(
        Enterprise.objects.order_by("pk").values_list("pk", flat=True)[
            : arguments.enterprises
        ]
    )
    readers = {
        "COPY TO STDOUT": PostgresStorage().record_frames,
        "ORM values_list": PortableStorage().record_frames,
    }
    if arguments.baseline_rev:
        readers[f"{arguments.baseline_rev} read"] = _baseline_reader(
            arguments.baseline_rev
        )
    seconds: dict[str, list[float]] = {name: [] for name in readers}
    rows = 0
    names = list(readers)
    for number, offset in enumerate(range(0, len(ids), arguments.chunk)):
        chunk = ids[offset : offset + arguments.chunk]
        # Untimed first read: every reader then finds the chunk's pages in memory,
        # and the order rotates so no reader is always first.
        readers[names[0]](chunk)
        counts = set()
        for name in names[number % len(names) :] + names[: number % len(names)]:
            read = readers[name]
            started = time.perf_counter()
            counts.add(_rows(read(chunk)))
            seconds[name].append(time.perf_counter() - started)
        if len(counts) != 1:
            raise SystemExit(f"the readers disagree on the rows: {counts}")
        rows += counts.pop()
    print(f"{len(ids):,} enterprises, {rows:,} records, chunks of {arguments.chunk:,}")
    fast = seconds["COPY TO STDOUT"]
    for name, times in seconds.items():
        ratios = [other / mine for other, mine in zip(times, fast, strict=True)]
        print(
            f"  {name:<22} {sum(times):7.2f} s  {rows / sum(times):>12,.0f} records/s"
            f"  time / COPY's: median {statistics.median(ratios):.2f}"
        )


if __name__ == "__main__":
    main()
