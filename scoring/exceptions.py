"""Domain errors of the scoring app."""

from core.exceptions import DomainError


class ScoringError(DomainError):
    """Base class: ``message`` is safe to show to an operator."""


class NoChampion(ScoringError):
    """No model has been promoted yet."""


class FeatureSetMismatch(ScoringError):
    """The model needs features the current feature set does not compute."""
