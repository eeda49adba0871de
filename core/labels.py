"""Choice labels as plain strings, built once per language.

A model's ``get_<field>_display()`` rebuilds the field's choice dictionary and
translates the label on every call; a page listing twenty products made over eighty
such calls. ``label_map(choices)`` translates a choice list once per language and
keeps the dictionary, so a label is a dictionary lookup. Choice lists are module
constants (``TextChoices`` classes, ``core.codes`` dictionaries), so keeping one
dictionary per list and language is bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Choices
from django.utils.translation import get_language

#: (id of the choices, language) → (the choices, their labels). The choices object is
#: kept so its id can never be reused by another object while the entry exists.
_maps: dict[tuple[int, str], tuple[Any, dict[str, str]]] = {}
_lock = threading.Lock()


def _pairs(choices: Any) -> Iterable[tuple[Any, Any]]:
    if isinstance(choices, type) and issubclass(choices, Choices):
        return choices.choices
    if isinstance(choices, Mapping):
        return choices.items()
    return choices


def label_map(choices: Any) -> Mapping[str, str]:
    """``{value: label}`` of a ``TextChoices`` class, a ``{code: label}`` dictionary
    or a list of pairs, translated into the active language."""
    key = (id(choices), get_language() or "")
    entry = _maps.get(key)
    if entry is not None and entry[0] is choices:
        return entry[1]
    found = {str(value): str(label) for value, label in _pairs(choices)}
    with _lock:
        _maps[key] = (choices, found)
    return found


def label(choices: Any, value: str) -> str:
    """The label of ``value``; a value the choices do not know (an older release's
    code, say) is shown as stored rather than failing the page."""
    return label_map(choices).get(value, value)
