"""GB 32100-2015 check character: real codes pass, every single corruption fails."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from borrowers.uscc import (
    ALPHABET,
    check_character,
    is_valid_uscc,
    normalize_uscc,
    validate_uscc,
)

# Published codes of well-known enterprises (their business licences are public).
REAL_CODES = [
    "914403001922038216",  # Huawei Technologies Co., Ltd.
    "91440300708461136T",  # Shenzhen Tencent Computer Systems Co., Ltd.
    "91350100M000100Y43",  # the example in GB 32100-2015
]

# Any 17 characters of the alphabet with digits in positions 3-8.
first_17 = st.tuples(
    st.text(alphabet=ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
).map("".join)
valid_codes = first_17.map(lambda head: head + check_character(head))


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code):
    validate_uscc(code)


@given(valid_codes)
def test_generated_codes_are_valid(code):
    assert is_valid_uscc(code)


@given(valid_codes, st.integers(min_value=0, max_value=17), st.characters())
def test_every_single_character_corruption_is_rejected(code, position, replacement):
    if replacement == code[position]:
        replacement = ALPHABET[(ALPHABET.index(code[position]) + 1) % 31]
    corrupted = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(ValidationError):
        validate_uscc(corrupted)


@given(valid_codes, st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET))
def test_single_substitution_within_the_alphabet_is_caught_by_the_check(
    code, position, new
):
    if new == code[position] or (2 <= position <= 7 and not new.isdigit()):
        return
    corrupted = code[:position] + new + code[position + 1 :]
    assert not is_valid_uscc(corrupted)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "91440300708461136",
            "A Unified Social Credit Code has 18 characters; this one has 17.",
        ),
        (
            "91440300708461136TX",
            "A Unified Social Credit Code has 18 characters; this one has 19.",
        ),
        (
            "914403007O8461136T",
            "Character 10 (“O”) is never used in a Unified Social Credit Code (I, O, Z, S and V are excluded).",
        ),
        ("91440300708461136t", "Character 18 (“t”) must be upper case."),
        (
            "91440300708461136#",
            "Character 18 (“#”) is not allowed in a Unified Social Credit Code.",
        ),
        (
            "9144A300708461136T",
            "Characters 3–8 are the administrative division code and must be digits; character 5 is “A”.",
        ),
        (
            "91440300708461136U",
            "The check character (character 18) is “U” but the first 17 characters require “T”: one of them, or the check character, is mistyped.",
        ),
        (
            "91440300708461137T",
            "The check character (character 18) is “T” but the first 17 characters require “X”: one of them, or the check character, is mistyped.",
        ),
    ],
)
def test_error_says_which_character_is_wrong(code, message, settings):
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError) as raised:
        validate_uscc(code)
    assert raised.value.messages == [message]


def test_normalize_strips_spaces_dashes_and_case():
    assert normalize_uscc(" 9144 0300-7084 6113 6t ") == "91440300708461136T"
