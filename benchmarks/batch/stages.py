"""Time by stage: the scoring service's own stage functions, wrapped.

The names in ``STAGES`` are module attributes of ``scoring.services`` (most of them
private helpers): ``StageTimer.install`` replaces each by a timed wrapper (and fails
loudly if one was renamed), ``uninstall`` puts the originals back.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

#: What ``score_enterprises`` spends its time on, by the service function doing it.
STAGES = (
    ("consent", "_with_scoring_consent", "consent check (authorizations read)"),
    ("read", "_latest_vectors", "DB read of the stored feature vectors"),
    ("model", "score_matrix", "model (DMatrix, margin, pred_contribs)"),
    ("rows", "_score_rows", "reason codes, contributions, row values"),
    ("write", "_write_scores", "DB write (CreditScore rows; batch: COPY)"),
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
        from scoring import services

        for key, name, _label in STAGES:
            original = getattr(services, name)  # fails loudly if renamed
            self._originals[name] = original
            setattr(services, name, self._wrap(key, original))
        return self

    def uninstall(self) -> None:
        from scoring import services

        for name, original in self._originals.items():
            setattr(services, name, original)

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
