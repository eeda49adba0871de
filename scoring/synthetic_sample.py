"""Training and validation samples drawn from the synthetic generator.

Each *vintage* is a cohort of distinct enterprises observed as of one date, with the
outcome ``simulated_default`` over the next 12 months and the true PD it was drawn
from. Training uses the earlier vintages; the last one is the out-of-time test. The
AUC of the true PD on the test cohort is the ceiling any model can reach.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.data import synthetic_frames
from scoring.features import FEATURE_NAMES, build_features

#: Half-yearly observation dates; the last vintage is the out-of-time test set.
DEFAULT_VINTAGES = (
    dt.date(2023, 6, 30),
    dt.date(2023, 12, 31),
    dt.date(2024, 6, 30),
    dt.date(2024, 12, 31),
    dt.date(2025, 6, 30),
    dt.date(2025, 12, 31),
)
CHUNK = 250


@dataclass
class Sample:
    features: pd.DataFrame  # one row per enterprise-vintage, FEATURE_NAMES columns
    label: np.ndarray  # 1 = default within 12 months
    true_pd: np.ndarray
    vintage: np.ndarray  # the as-of date of each row
    usccs: list[str]

    def data_hash(self) -> str:
        digest = hashlib.sha256()
        digest.update(
            pd.util.hash_pandas_object(self.features, index=False).values.tobytes()
        )
        digest.update(self.label.astype(np.int8).tobytes())
        digest.update(
            np.asarray(self.vintage, dtype="datetime64[D]").astype(np.int64).tobytes()
        )
        return digest.hexdigest()


def _chunk(
    args: tuple[list[str], dt.date],
) -> tuple[pd.DataFrame, list[int], list[float]]:
    from creditdata.synthetic import (
        firm_profile,
        simulated_default,
        true_default_probability,
    )

    usccs, as_of = args
    frames = synthetic_frames(usccs, as_of)
    as_of_series = pd.Series(
        pd.Timestamp(as_of), index=pd.Index(usccs, name="enterprise")
    )
    features = build_features(frames, as_of_series)
    profiles = [firm_profile(uscc) for uscc in usccs]
    return (
        features,
        [int(simulated_default(p)) for p in profiles],
        [true_default_probability(p) for p in profiles],
    )


def draw_sample(
    *,
    enterprises_per_vintage: int,
    vintages: tuple[dt.date, ...] = DEFAULT_VINTAGES,
    first_index: int = 1_000_000,
    processes: int = 2,
    progress=None,
) -> Sample:
    """``enterprises_per_vintage`` distinct firms per vintage, records as of that date."""
    from creditdata.synthetic import synthetic_uscc

    jobs = []
    for number, as_of in enumerate(vintages):
        start = first_index + number * enterprises_per_vintage
        usccs = [
            synthetic_uscc(i) for i in range(start, start + enterprises_per_vintage)
        ]
        for offset in range(0, len(usccs), CHUNK):
            jobs.append((usccs[offset : offset + CHUNK], as_of))
    if processes > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(processes) as pool:
            results = []
            for result in pool.imap(_chunk, jobs):
                results.append(result)
                if progress is not None:
                    progress(len(results), len(jobs))
    else:
        results = []
        for job in jobs:
            results.append(_chunk(job))
            if progress is not None:
                progress(len(results), len(jobs))
    features = pd.concat([r[0] for r in results])[list(FEATURE_NAMES)]
    vintage = np.concatenate(
        [
            np.full(len(job[0]), np.datetime64(job[1]), dtype="datetime64[D]")
            for job in jobs
        ]
    )
    usccs = [uscc for job in jobs for uscc in job[0]]
    features.index = pd.RangeIndex(len(features))
    return Sample(
        features=features,
        label=np.array([label for r in results for label in r[1]], dtype=np.int8),
        true_pd=np.array([p for r in results for p in r[2]], dtype=float),
        vintage=vintage,
        usccs=usccs,
    )
