"""``core.labels``: a choice's label in the active language, from a dictionary built
once per choice list and language."""

from __future__ import annotations

from django.utils import translation

from core.codes import DISTRICTS
from core.labels import label, label_map
from lenders.models import ProductType


def test_a_label_follows_the_active_language():
    with translation.override("zh-hans"):
        assert label(DISTRICTS, "440304") == "福田区"
        assert label(ProductType, "credit") == str(ProductType.CREDIT.label)
    with translation.override("en"):
        assert label(DISTRICTS, "440304") == "Futian"
        assert label(ProductType, "credit") == "Credit loan"


def test_an_unknown_value_is_shown_as_stored():
    assert label(DISTRICTS, "999999") == "999999"


def test_the_map_is_built_once_per_list_and_language():
    with translation.override("en"):
        assert label_map(DISTRICTS) is label_map(DISTRICTS)
        english = label_map(DISTRICTS)
    with translation.override("zh-hans"):
        assert label_map(DISTRICTS) is not english


def test_a_new_list_with_a_reused_id_is_not_confused_with_the_old_one():
    first = [("a", "Alpha")]
    assert label(first, "a") == "Alpha"
    second = [("a", "Another")]
    assert label(second, "a") == "Another"
