"""Time by stage: the scoring service's own stage functions, wrapped.

The names in ``STAGES`` are ``module:attribute`` paths of the scoring functions doing
each stage (most of them private helpers of ``scoring.services``; the write is the
storage's): ``StageTimer.install`` replaces each by a timed wrapper (and fails loudly
if one was renamed), ``uninstall`` puts the originals back.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

#: What ``score_enterprises`` spends its time on, by the service function doing it.
STAGES = (
    (
        "consent",
        "scoring.services:_with_scoring_consent",
        "consent check (authorizations read)",
    ),
    (
        "read",
        "scoring.services:_latest_vectors",
        "DB read of the stored feature vectors",
    ),
    (
        "model",
        "scoring.services:score_matrix",
        "model (DMatrix, margin, pred_contribs)",
    ),
    ("rows", "scoring.services:_score_rows", "reason codes, contributions, row values"),
    (
        "write",
        "scoring.storage:PostgresStorage.insert_scores",
        "DB write (CreditScore rows; batch: COPY)",
    ),
)


class StageTimer:
    """Wraps the service functions named in ``STAGES`` to add up their time."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.calls: list[dict[str, float]] = []
        self.matrices: list = []
        self.capture = False
        self._originals: dict[str, Callable] = {}

    def install(self) -> StageTimer:
        for key, path, _label in STAGES:
            owner, attribute = _resolve(path)
            original = getattr(owner, attribute)  # fails loudly if renamed
            self._originals[path] = original
            setattr(owner, attribute, self._wrap(key, original))
        return self

    def uninstall(self) -> None:
        for path, original in self._originals.items():
            owner, attribute = _resolve(path)
            setattr(owner, attribute, original)

    def _wrap(self, key: str, function: Callable) -> Callable:
        def timed(*args, **kwargs):
            if key == "model" and self.capture:
                self.matrices.append(args[1])
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.totals[key] += time.perf_counter() - started

        return timed

    def reset(self) -> None:
        self.totals.clear()


def _resolve(path: str) -> tuple[object, str]:
    """``"package.module:Class.attribute"`` → (the class or module, ``"attribute"``)."""
    import importlib

    module_name, _colon, dotted = path.partition(":")
    owner: object = importlib.import_module(module_name)
    *parents, attribute = dotted.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, attribute
