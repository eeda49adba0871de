"""Webhook signatures: round trip, every failure reason, secret rotation."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.signing import HEADER_NAME, SignatureVerificationError, sign, verify

SECRET = "whsec-test-1f2e3d4c"
BODY = b'{"event":"record.updated","id":"evt_1"}'
NOW = 1_750_000_000


def _reason(secret: str, body: bytes, header: str | None, **kwargs) -> str:
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(secret, body, header, **kwargs)
    return excinfo.value.reason


def test_header_name():
    assert HEADER_NAME == "X-Xyd-Signature"


def test_sign_then_verify_returns_the_timestamp():
    header = sign(SECRET, BODY, timestamp=NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert verify(SECRET, BODY, header, now=NOW) == NOW


def test_sign_defaults_to_now():
    header = sign(SECRET, BODY)
    timestamp = verify(SECRET, BODY, header)
    assert header.startswith(f"t={timestamp},")


def test_body_changed_by_one_byte_is_a_bad_signature():
    header = sign(SECRET, BODY, timestamp=NOW)
    tampered = BODY[:-1] + b"]"
    assert _reason(SECRET, tampered, header, now=NOW) == "bad_signature"


def test_wrong_secret_is_a_bad_signature():
    header = sign("another-secret", BODY, timestamp=NOW)
    assert _reason(SECRET, BODY, header, now=NOW) == "bad_signature"


def test_timestamp_is_part_of_the_signed_payload():
    signature = sign(SECRET, BODY, timestamp=NOW).split(",v1=")[1]
    replayed = f"t={NOW + 60},v1={signature}"
    assert _reason(SECRET, BODY, replayed, now=NOW + 60) == "bad_signature"


def test_timestamp_older_than_tolerance_is_stale():
    header = sign(SECRET, BODY, timestamp=NOW - 301)
    assert _reason(SECRET, BODY, header, now=NOW) == "stale_timestamp"


def test_timestamp_further_in_the_future_than_tolerance_is_stale():
    header = sign(SECRET, BODY, timestamp=NOW + 301)
    assert _reason(SECRET, BODY, header, now=NOW) == "stale_timestamp"


@pytest.mark.parametrize("offset", [-300, 300])
def test_timestamp_exactly_at_tolerance_is_accepted(offset):
    header = sign(SECRET, BODY, timestamp=NOW + offset)
    assert verify(SECRET, BODY, header, now=NOW) == NOW + offset


def test_custom_tolerance():
    header = sign(SECRET, BODY, timestamp=NOW - 31)
    assert _reason(SECRET, BODY, header, tolerance=30, now=NOW) == "stale_timestamp"
    assert verify(SECRET, BODY, header, tolerance=31, now=NOW) == NOW - 31


def test_forged_and_stale_header_is_reported_as_bad_signature():
    header = sign("another-secret", BODY, timestamp=NOW - 3600)
    assert _reason(SECRET, BODY, header, now=NOW) == "bad_signature"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header(header):
    assert _reason(SECRET, BODY, header, now=NOW) == "missing_header"


@pytest.mark.parametrize(
    "header",
    [
        "t=abc,v1=" + "0" * 64,
        "t=,v1=" + "0" * 64,
        "t=-5,v1=" + "0" * 64,
        "t=1.5,v1=" + "0" * 64,
        "t=1_000,v1=" + "0" * 64,
        "t=9999999999999999999999,v1=" + "0" * 64,
        "v1=" + "0" * 64,
        f"t={NOW}",
        f"t={NOW},v0=" + "0" * 64,
        f"t={NOW},t={NOW},v1=" + "0" * 64,
        f"t={NOW},garbage",
        "nonsense",
    ],
)
def test_malformed_header(header):
    assert _reason(SECRET, BODY, header, now=NOW) == "malformed_header"


def test_second_v1_entry_valid_is_accepted():
    valid = sign(SECRET, BODY, timestamp=NOW).split(",v1=")[1]
    old = sign("old-secret", BODY, timestamp=NOW).split(",v1=")[1]
    header = f"t={NOW},v1={old},v1={valid}"
    assert verify(SECRET, BODY, header, now=NOW) == NOW


def test_whitespace_and_unknown_schemes_are_tolerated():
    valid = sign(SECRET, BODY, timestamp=NOW).split(",v1=")[1]
    header = f"t={NOW}, v2=deadbeef, v1={valid}"
    assert verify(SECRET, BODY, header, now=NOW) == NOW


def test_non_ascii_signature_is_a_bad_signature_not_a_crash():
    header = f"t={NOW},v1=签名"
    assert _reason(SECRET, BODY, header, now=NOW) == "bad_signature"


def test_error_survives_pickling():
    error = SignatureVerificationError("stale_timestamp", "too old")
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (clone.reason, str(clone)) == ("stale_timestamp", "too old")


def test_unknown_reason_is_refused():
    with pytest.raises(ValueError):
        SignatureVerificationError("because")


@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_any_single_byte_change_is_a_bad_signature(body, data):
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    delta = data.draw(st.integers(min_value=1, max_value=255))
    tampered = bytearray(body)
    tampered[index] = (tampered[index] + delta) % 256
    header = sign(SECRET, body, timestamp=NOW)
    assert verify(SECRET, body, header, now=NOW) == NOW
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(SECRET, bytes(tampered), header, now=NOW)
    assert excinfo.value.reason == "bad_signature"
