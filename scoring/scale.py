"""The points scale shared by every scoring model.

Every model on the platform — the generic tabular trainer, the platform model and
whatever comes next — turns a probability of default into points and a grade the same
way, so that a score of 600 means the same risk whichever model produced it. A model
stores the scale it was trained with (``to_dict``), so changing the settings later does
not silently re-grade borrowers scored by an older model.

The convention is the usual "points to double the odds" one: the odds are good:bad, a
borrower at ``base_odds`` good:bad scores ``base_score`` and every doubling of those
odds adds ``pdo`` points. Higher score = lower risk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Grade of a score below the lowest band (企业信用风险分类 A/B/C/D).
BELOW_BANDS_GRADE = "D"

#: A PD of exactly 0 or 1 would give an infinite score; clip to keep scores finite.
PD_CLIP = 1e-6


@dataclass(frozen=True)
class PointsScale:
    """Linear map from log-odds of default to points, plus the grade bands.

    ``bands`` holds ``(grade, lowest score of the grade)`` pairs; a score below every
    band gets :data:`BELOW_BANDS_GRADE`.
    """

    pdo: float
    base_score: float
    base_odds: float
    bands: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        # A wrong setting would otherwise surface as NaN scores far from its cause.
        if not self.pdo > 0:
            raise ValueError(f"pdo must be positive, got {self.pdo!r}")
        if not self.base_odds > 0:
            raise ValueError(f"base_odds must be positive, got {self.base_odds!r}")
        # Normalise so that grade() can walk the bands from the best grade down.
        ordered = tuple(
            sorted(
                ((str(g), float(s)) for g, s in self.bands),
                key=lambda item: -item[1],
            )
        )
        object.__setattr__(self, "bands", ordered)

    @property
    def factor(self) -> float:
        """Points per unit of natural log-odds: ``pdo / ln 2``."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Score at even odds: ``base_score − factor · ln(base_odds)``."""
        return self.base_score - self.factor * math.log(self.base_odds)

    def score(self, pd: np.ndarray) -> np.ndarray:
        """Points for probabilities of default (higher = safer).

        ``offset − factor · ln(pd / (1 − pd))``; pd is clipped to
        ``[1e-6, 1 − 1e-6]`` so certain-looking predictions stay finite.
        """
        p = np.clip(np.asarray(pd, dtype=float), PD_CLIP, 1.0 - PD_CLIP)
        return self.offset - self.factor * np.log(p / (1.0 - p))

    def grade(self, scores: np.ndarray) -> np.ndarray:
        """Grade of each score: the best band whose lowest score it reaches."""
        s = np.asarray(scores, dtype=float)
        out = np.full(s.shape, BELOW_BANDS_GRADE, dtype=object)
        # Walk from the lowest band up so better bands overwrite worse ones.
        for name, lowest in reversed(self.bands):
            out[s >= lowest] = name
        return out.astype(str)

    def grade_names(self) -> tuple[str, ...]:
        """All grades best first, including the one below every band."""
        return (*(name for name, _ in self.bands), BELOW_BANDS_GRADE)

    @classmethod
    def from_settings(cls) -> PointsScale:
        """The platform's current scale (``SCORING_*`` settings)."""
        from django.conf import settings

        return cls(
            pdo=float(settings.SCORING_PDO),
            base_score=float(settings.SCORING_BASE_SCORE),
            base_odds=float(settings.SCORING_BASE_ODDS),
            bands=tuple(
                (str(g), float(s)) for g, s in settings.SCORING_GRADE_BANDS.items()
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored next to a model as ``scale.json``."""
        return {
            "pdo": self.pdo,
            "base_score": self.base_score,
            "base_odds": self.base_odds,
            "bands": [[name, lowest] for name, lowest in self.bands],
            "below_bands_grade": BELOW_BANDS_GRADE,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PointsScale:
        """Inverse of :meth:`to_dict`."""
        return cls(
            pdo=float(data["pdo"]),
            base_score=float(data["base_score"]),
            base_odds=float(data["base_odds"]),
            bands=tuple((str(g), float(s)) for g, s in data["bands"]),
        )
