"""Fixtures of the marketplace tests.

The scoring tests' ``champion`` / ``scored_enterprise`` (a real model trained on the
synthetic sample, and an enterprise pulled from the sandbox and scored by it) are
available here too; most matching tests use a stored score instead
(``tests.factories.scoring.stored_score``), whose grade and snapshot they choose.
"""

from __future__ import annotations

import pytest

from tests.scoring.conftest import champion, scored_enterprise, small_models

__all__ = ["champion", "scored_enterprise", "small_models"]


@pytest.fixture(autouse=True)
def _fresh_matching_catalogue():
    """Each test starts without this process's copy of the matching catalogue (the
    shared cache is emptied by the root conftest), so it measures a cold start."""
    from marketplace.selectors import matching_catalogue_forget

    matching_catalogue_forget()
    yield
    matching_catalogue_forget()
