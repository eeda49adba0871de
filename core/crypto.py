"""Encryption at rest of stored credentials, with keys that live only in the environment.

A copy of the database (a backup, a replica, a dump handed to a contractor) must not
hand over the credentials it holds: a bank's webhook signing secret would let anyone
forge our events to that bank, a staff member's TOTP seed would defeat the second
factor. Such values are stored as Fernet tokens (AES-128-CBC with HMAC-SHA256, so a
token that was altered or made under another key is refused, never silently
misread). The keys are never in the database.

``FIELD_ENCRYPTION_KEYS`` is a list of Fernet keys (comma-separated in the
environment). The **first** encrypts; **every** key decrypts (``MultiFernet``). To
rotate: put a new key first and deploy, run ``manage.py encryption_rotate``, check
that ``manage.py encryption_rotate --check`` reports nothing under an old key, then
remove the old key (docs/webhooks.md, "Encryption at rest and key rotation").

Nothing here ever puts a plaintext or a key in an exception, a log line or a message.
"""

from __future__ import annotations

import binascii
import functools
import logging
from base64 import urlsafe_b64decode
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

SETTING = "FIELD_ENCRYPTION_KEYS"
#: Every Fernet token starts with these bytes (version 0x80, base64-encoded).
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (a format marker, not a secret)
FERNET_KEY_BYTES = 32


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key.

    Not a ``DomainError``: no user input causes it. It means a key was removed before
    its values were re-encrypted, or the stored value was altered. ``where`` names the
    column (and row), never the value.
    """

    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where} cannot be decrypted with any key in {SETTING} (a key removed "
            "before `manage.py encryption_rotate` ran, or the stored value was altered)"
        )
        self.where = where


def parse_keys(value: str | Sequence[str] | None) -> list[str]:
    """The keys of a setting or environment value: comma-separated text or a list,
    entries stripped, empty entries dropped."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def key_problems(keys: Iterable[str]) -> list[str]:
    """What is wrong with a list of keys, in words that name entries, not values.

    Empty list, an entry that is not 32 bytes of URL-safe base64, an entry repeated.
    """
    keys = list(keys)
    if not keys:
        return [f"{SETTING} is empty: no key to encrypt stored credentials with."]
    problems = []
    seen: dict[bytes, int] = {}
    for number, key in enumerate(keys, start=1):
        try:
            raw = urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != FERNET_KEY_BYTES:
            problems.append(
                f"{SETTING} entry {number} is not a Fernet key (32 bytes in URL-safe "
                "base64, 44 characters)."
            )
            continue
        if raw in seen:
            problems.append(f"{SETTING} entry {number} repeats entry {seen[raw]}.")
        seen.setdefault(raw, number)
    return problems


def configured_keys() -> list[str]:
    return parse_keys(getattr(settings, SETTING, None))


@functools.lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _fernets() -> MultiFernet:
    """The ``MultiFernet`` of the configured keys (cached per key list, so a changed
    setting, e.g. in a test, takes effect at once)."""
    keys = configured_keys()
    problems = key_problems(keys)
    if problems:
        raise ImproperlyConfigured(" ".join(problems))
    return _multi_fernet(tuple(keys))


def looks_encrypted(value: str) -> bool:
    """Whether ``value`` has the shape of a Fernet token (not whether it decrypts)."""
    return value.startswith(TOKEN_PREFIX)


def encrypt(plaintext: str) -> str:
    """``plaintext`` as a Fernet token under the first key (text, URL-safe base64)."""
    return _fernets().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, where: str = "A stored value") -> str:
    """The plaintext of ``token``, whichever configured key made it.

    Raises ``DecryptionError`` naming ``where`` (a column, a row), never the value.
    """
    try:
        return _fernets().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(where) from None


def is_current(token: str) -> bool:
    """Whether ``token`` was made under the first key (needs no re-encryption)."""
    _fernets()  # the same configuration errors as every other use
    try:
        Fernet(configured_keys()[0]).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def reencrypt(token: str, *, where: str = "A stored value") -> str:
    """``token`` decrypted with whichever key made it and encrypted under the first."""
    try:
        return _fernets().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(where) from None


class Ciphertext(str):
    """A value that is already a token: ``EncryptedTextField`` stores it as it is.

    Only re-encryption (``manage.py encryption_rotate``) writes one, after checking it.
    """


# --- Rotation -------------------------------------------------------------------------


@dataclass
class RotationReport:
    """What a rotation pass did to one store of encrypted values."""

    store: str
    reencrypted: int = 0
    current: int = 0
    failed: list[str] = field(default_factory=list)


#: Stores of encrypted values that are not ``EncryptedTextField`` columns (e.g. the
#: MFA secrets inside allauth's JSON), registered by the app that encrypts them:
#: ``function(check_only=...)`` re-encrypts them (or only counts, with ``check_only``).
ROTATIONS: dict[str, Callable[..., RotationReport]] = {}


def register_rotation(store: str, function: Callable[..., RotationReport]) -> None:
    ROTATIONS[store] = function


def rotate_token(report: RotationReport, token: str, where: str) -> str | None:
    """The re-encrypted token to store, or None when ``token`` is already current or
    cannot be decrypted (counted in ``report``; the failure names ``where``)."""
    if is_current(token):
        report.current += 1
        return None
    try:
        new = reencrypt(token, where=where)
    except DecryptionError:
        report.failed.append(where)
        logger.error("%s cannot be decrypted with any configured key", where)
        return None
    report.reencrypted += 1
    return new
