"""Toll fraud through the API: the dev app starts with the safe default allow-list, and a
transfer command passes the same destination check as a created call."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from voicelane_local.platform import LocalPlatform

from tests.voicelane.api.api_helpers import ApiUser, assert_error, e164


def test_the_dev_app_refuses_a_call_from_a_us_number_to_an_international_network(
        local_platform: LocalPlatform, http: httpx.Client) -> None:
    # The app `make dev` / `voicelane dev` creates (LocalPlatform.start), with its own key.
    headers = {"Authorization": f"Bearer {local_platform.api_key}"}
    number = e164()
    r = http.post("/v1/numbers", json={"number": number}, headers=headers)
    assert r.status_code == 201, r.text
    r = http.post("/v1/calls", json={"from": number, "to": "+88212345678"}, headers=headers)
    error = assert_error(r, 403, "destination_not_allowed")
    assert error["details"]["allowed_prefixes"] == ["+1"], error
    ok = http.post("/v1/calls", json={"from": number, "to": e164()}, headers=headers)
    assert ok.status_code == 201, ok.text  # its own country still works
    http.post(f"/v1/calls/{ok.json()['id']}/hangup", headers=headers)


def test_a_transfer_command_to_a_disallowed_destination_is_refused(
        new_user: Callable[..., ApiUser]) -> None:
    user = new_user(destination_allow_list=["+1", "+44"])
    call = user.create_call(to=e164()).json()
    for target in ("+88212345678", "sip:+88212345678@carrier.example.com",
                   "sip:0088212345678@carrier.example.com"):
        r = user.request("POST", f"/v1/calls/{call['id']}/actions/transfer", json={"to": target})
        error = assert_error(r, 403, "destination_not_allowed")
        assert error["details"]["to"] == target
    # An allowed one is not refused for its destination (the call is not live yet: 409).
    r = user.request("POST", f"/v1/calls/{call['id']}/actions/transfer",
                     json={"to": "+442071838750"})
    assert_error(r, 409, "action_not_allowed")
