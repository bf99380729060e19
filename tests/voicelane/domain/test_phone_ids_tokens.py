"""E.164 numbers, destination allow-lists, time-sortable ids and signed tokens."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voicelane.domain.destinations import destination_allowed
from voicelane.domain.errors import Unauthenticated, ValidationFailed
from voicelane.domain.ids import new_id, ulid, ulid_ceiling, ulid_floor, ulid_time_ms
from voicelane.domain.phone import country_code, is_e164, require_e164
from voicelane.domain.tokens import sign, verify


@pytest.mark.parametrize("number", ["+14155550100", "+442071838750", "+12", "+999999999999999"])
def test_valid_e164(number: str) -> None:
    assert is_e164(number)
    assert require_e164(number, "to") == number


@pytest.mark.parametrize(
    "number",
    ["14155550100", "+04155550100", "+1 415 555 0100", "+1415555010a", "+", "+1",
     "+1234567890123456", "", "++14155550100", "+14155550100\n"],
)
def test_malformed_e164_is_refused_with_its_field(number: str) -> None:
    assert not is_e164(number)
    with pytest.raises(ValidationFailed) as info:
        require_e164(number, "to")
    assert info.value.code == "invalid_phone_number"
    assert info.value.details == {"field": "to", "value": number}


@pytest.mark.parametrize(
    ("number", "cc"),
    [("+14155550100", "1"), ("+79161234567", "7"), ("+442071838750", "44"),
     ("+4930123456", "49"), ("+35312345678", "353"), ("+97150123456", "971")],
)
def test_country_code_is_the_longest_assigned_prefix(number: str, cc: str) -> None:
    assert country_code(number) == cc


def test_destination_defaults_to_the_from_numbers_country() -> None:
    assert destination_allowed("+14155550199", None, "+12125550100")
    assert not destination_allowed("+442071838750", None, "+12125550100")
    assert not destination_allowed("+442071838750", [], "+12125550100")


def test_destination_allow_list_prefixes_and_wildcard() -> None:
    assert destination_allowed("+442071838750", ["+1", "+44"], "+12125550100")
    assert not destination_allowed("+33123456789", ["+1", "+44"], "+12125550100")
    assert destination_allowed("+33123456789", ["*"], "+12125550100")


def test_ids_carry_their_prefix_and_sort_by_creation_time() -> None:
    ids = [new_id("call", now_ms=ms) for ms in (1_000, 2_000, 1_700_000_000_000, 1_700_000_000_001)]
    assert all(i.startswith("call_") and len(i) == 5 + 26 for i in ids)
    assert ids == sorted(ids)
    assert [ulid_time_ms(i[5:]) for i in ids] == [1_000, 2_000, 1_700_000_000_000, 1_700_000_000_001]


@given(st.integers(min_value=0, max_value=2**48 - 2), st.integers(min_value=1, max_value=10**6))
def test_id_order_follows_time_and_floor_ceiling_bound_a_millisecond(ms: int, later: int) -> None:
    a, b = ulid(ms), ulid(min(ms + later, 2**48 - 1))
    assert a < b
    assert ulid_floor(ms) <= a <= ulid_ceiling(ms) < ulid_floor(ms + 1)


def test_ids_are_unique_within_a_millisecond() -> None:
    now = int(time.time() * 1000)
    assert len({ulid(now) for _ in range(2000)}) == 2000


SECRET = "a-test-secret-of-enough-length"


def test_token_round_trip_carries_claims_and_expiry() -> None:
    token = sign({"sid": "sess_1", "call_id": "call_1"}, SECRET, ttl_s=60, now=1000.0)
    claims = verify(token, SECRET, now=1059.0)
    assert claims["sid"] == "sess_1" and claims["call_id"] == "call_1" and claims["exp"] == 1060


def test_expired_token_is_refused() -> None:
    token = sign({"sid": "s"}, SECRET, ttl_s=60, now=1000.0)
    with pytest.raises(Unauthenticated) as info:
        verify(token, SECRET, now=1061.0)
    assert info.value.code == "token_expired"


@pytest.mark.parametrize("mutate", ["claims", "signature", "secret", "garbage"])
def test_tampered_token_is_refused(mutate: str) -> None:
    token = sign({"sid": "s", "app_id": "app_a"}, SECRET, ttl_s=60)
    payload, mac = token.split(".")
    secret = SECRET
    if mutate == "claims":
        forged = sign({"sid": "s", "app_id": "app_b"}, "another-secret-entirely", ttl_s=60)
        token = f"{forged.split('.')[0]}.{mac}"
    elif mutate == "signature":
        token = f"{payload}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}"
    elif mutate == "secret":
        secret = "the-wrong-secret-of-length"
    else:
        token = "not-a-token"
    with pytest.raises(Unauthenticated) as info:
        verify(token, secret)
    assert info.value.code == "invalid_token"
