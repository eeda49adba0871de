"""The Unified Social Credit Code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (digits and upper-case letters without I, O,
Z, S and V):

====== ============================================
1      registration authority (1, 5, 9, Y …)
2      organization category
3–8    administrative division code (digits)
9–17   organization code (GB 11714)
18     check character
====== ============================================

The check character makes the weighted sum of all 18 values ≡ 0 (mod 31) with the
weights 3^(i-1) mod 31; since 31 is prime and every weight is non-zero, *any* single
mistyped character changes the sum and is caught.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {character: value for value, character in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def check_character(first_17: str) -> str:
    """The check character for the first 17 characters (which must be valid)."""
    total = sum(
        VALUES[character] * weight
        for character, weight in zip(first_17, WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(raw: str) -> str:
    """What a person typed, as the canonical code: no spaces or dashes, upper case."""
    return "".join(raw.split()).replace("-", "").upper()


def validate_uscc(code: str) -> None:
    """Raise ``ValidationError`` saying which character is wrong, and why.

    Strict: the code must already be canonical (``normalize_uscc``); a lower-case
    letter is reported as such rather than silently accepted.
    """
    if not isinstance(code, str) or len(code) != LENGTH:
        raise ValidationError(
            _("A Unified Social Credit Code has 18 characters; this one has %(count)d.")
            % {"count": len(code) if isinstance(code, str) else 0},
            code="uscc_length",
        )
    for position, character in enumerate(code, start=1):
        if character not in VALUES:
            if character.upper() in VALUES:
                message = _(
                    "Character %(position)d (“%(character)s”) must be upper case."
                )
            elif character in "IOZSV":
                message = _(
                    "Character %(position)d (“%(character)s”) is never used in a "
                    "Unified Social Credit Code (I, O, Z, S and V are excluded)."
                )
            else:
                message = _(
                    "Character %(position)d (“%(character)s”) is not allowed in a "
                    "Unified Social Credit Code."
                )
            raise ValidationError(
                message % {"position": position, "character": character},
                code="uscc_character",
            )
    for position in range(3, 9):
        if not code[position - 1].isdigit():
            raise ValidationError(
                _(
                    "Characters 3–8 are the administrative division code and must be "
                    "digits; character %(position)d is “%(character)s”."
                )
                % {"position": position, "character": code[position - 1]},
                code="uscc_division",
            )
    expected = check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _(
                "The check character (character 18) is “%(actual)s” but the first 17 "
                "characters require “%(expected)s”: one of them, or the check character, "
                "is mistyped."
            )
            % {"actual": code[17], "expected": expected},
            code="uscc_check",
        )


def is_valid_uscc(code: str) -> bool:
    try:
        validate_uscc(code)
    except ValidationError:
        return False
    return True


def make_uscc(first_17: str) -> str:
    """Complete 17 valid characters with their check character (for tests and seeds)."""
    return first_17 + check_character(first_17)
