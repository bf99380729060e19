"""The one destination check (voicelane.domain.destinations): numbers, SIP URIs, defaults."""

from __future__ import annotations

import pytest
from voicelane.domain.destinations import check_destination, destination_allowed, own_number_of
from voicelane.domain.errors import Forbidden


@pytest.mark.parametrize(("target", "allowed"), [
    ("+14155550199", True),
    ("+88212345678", False),  # international networks: not +1
    ("sip:+14155550199@carrier.example.com", True),
    ("sip:+88212345678@carrier.example.com;user=phone", False),
    ("sips:+882-1234-5678@carrier.example.com", False),  # visual separators do not hide it
    ("sip:%2B88212345678@carrier.example.com", False),  # nor does escaping
    ("sip:0088212345678@carrier.example.com", False),  # a country that cannot be known
    ("sip:01188212345678@carrier.example.com", False),
    ("sip:1001@pbx.example.com", True),  # an extension
    ("sip:alice@pbx.example.com", True),  # not a telephone number
    ("sip:pbx.example.com", True),
    ("0088212345678", False),  # neither E.164 nor a SIP URI
    ("tel:+88212345678", False),
])
def test_the_default_is_the_own_numbers_country(target: str, allowed: bool) -> None:
    assert destination_allowed(target, None, "+12125550100") is allowed


def test_a_call_without_a_number_of_its_own_dials_nothing_by_default() -> None:
    assert not destination_allowed("+14155550199", None, None)
    assert destination_allowed("+14155550199", ["+1"], None)
    assert destination_allowed("sip:alice@pbx.example.com", None, None)


def test_an_explicit_list_and_the_wildcard() -> None:
    assert destination_allowed("+88212345678", ["+882"], "+12125550100")
    assert not destination_allowed("+14155550199", ["+44"], "+12125550100")
    assert destination_allowed("sip:0088212345678@carrier.example.com", ["*"], "+12125550100")


def test_the_refusal_names_the_code_and_the_prefixes_in_force() -> None:
    with pytest.raises(Forbidden) as err:
        check_destination("+88212345678", None, "+442071838750")
    assert err.value.code == "destination_not_allowed"
    assert err.value.details["allowed_prefixes"] == ["+44"]


def test_the_own_number_is_the_from_of_an_outbound_call_and_the_to_of_an_inbound_one() -> None:
    assert own_number_of("outbound", "pstn", "+12125550100", "pstn", "+4420") == "+12125550100"
    assert own_number_of("inbound", "pstn", "+4420718387", "pstn", "+12125550100") == "+12125550100"
    assert own_number_of("outbound", "webrtc", "agent-1", "pstn", "+12125550100") is None
