"""An app's toll-fraud settings through the API: `GET /v1/app` and `PATCH /v1/app` set its
`calls_per_second` cap and its destination allow-list; the new values are what the API then
enforces; bad values answer 422 and change nothing; a key changes its own app only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from voicelane.container import Container
from voicelane.domain.models import RateLimits

from tests.voicelane.api.api_helpers import ApiUser, assert_error, e164

LIMITS = RateLimits(create_call=1000)


def _app(user: ApiUser) -> dict[str, Any]:
    r = user.request("GET", "/v1/app")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _patch(user: ApiUser, body: Any) -> Any:
    return user.request("PATCH", "/v1/app", json=body)


def test_get_shows_the_apps_own_settings(user: ApiUser) -> None:
    app = _app(user)
    assert app["id"] == user.app_id
    # Not set: the platform's default cap, and the from-number's country as the allow-list.
    assert app["calls_per_second"] is None and app["destination_allow_list"] is None


def test_the_allow_list_set_through_the_api_is_the_one_enforced(user: ApiUser) -> None:
    uk = e164("4420")
    # Default: the from-number's country (+1) only.
    assert_error(user.create_call(to=uk), 403, "destination_not_allowed")
    r = _patch(user, {"destination_allow_list": ["+44", "+1"]})
    assert r.status_code == 200, r.text
    assert r.json()["destination_allow_list"] == ["+44", "+1"]
    assert _app(user)["destination_allow_list"] == ["+44", "+1"]
    assert user.create_call(to=uk).status_code == 201
    # Narrowed: +1 is refused now.
    assert _patch(user, {"destination_allow_list": ["+44"]}).status_code == 200
    assert_error(user.create_call(), 403, "destination_not_allowed")
    # null: back to the default.
    assert _patch(user, {"destination_allow_list": None}).json()["destination_allow_list"] is None
    assert_error(user.create_call(to=uk), 403, "destination_not_allowed")
    assert user.create_call().status_code == 201


def test_the_cap_set_through_the_api_is_the_one_enforced(
        new_user: Callable[..., ApiUser]) -> None:
    user = new_user(rate_limits=LIMITS)  # the platform's test default is 1000/s
    r = _patch(user, {"calls_per_second": 1})
    assert r.status_code == 200 and r.json()["calls_per_second"] == 1, r.text
    time.sleep(1 - time.time() % 1 + 0.02)  # start early in a second
    answers = [user.create_call().status_code for _ in range(3)]
    assert answers[0] == 201 and 429 in answers, answers
    assert _patch(user, {"calls_per_second": None}).json()["calls_per_second"] is None


@pytest.mark.parametrize("body", [
    {},
    {"calls_per_second": 0},
    {"calls_per_second": 1001},
    {"calls_per_second": "2"},
    {"calls_per_second": True},
    {"calls_per_second": 1.5},
    {"destination_allow_list": []},
    {"destination_allow_list": ["44"]},
    {"destination_allow_list": ["+"]},
    {"destination_allow_list": ["+0"]},
    {"destination_allow_list": ["+1234567890123456"]},
    {"destination_allow_list": ["+1", "*x"]},
    {"destination_allow_list": "+1"},
    {"destination_allow_list": ["+1"] * 101},
    {"max_concurrent_calls": 1000},  # not a setting a key may change
    {"allow_private_webhooks": True},
    [],
])
def test_bad_settings_answer_422_and_change_nothing(user: ApiUser, body: Any) -> None:
    before = _app(user)
    assert_error(_patch(user, body), 422, "validation_error")
    assert _app(user) == before


def test_a_patch_changes_only_its_fields_and_keeps_the_live_counter(
        new_user: Callable[..., ApiUser], container: Container) -> None:
    user = new_user(max_concurrent_calls=7, destination_allow_list=["+1", "+44"])
    other = new_user()
    assert user.create_call().status_code == 201  # holds a slot: active_calls = 1
    assert _patch(user, {"calls_per_second": 3}).status_code == 200
    stored = container.apps.get_app(user.app_id)
    assert (stored.calls_per_second, stored.destination_allow_list) == (3, ["+1", "+44"])
    assert (stored.max_concurrent_calls, stored.active_calls) == (7, 1)
    assert _app(other)["calls_per_second"] is None  # another app is untouched


def test_the_settings_need_a_key(user: ApiUser) -> None:
    r = user.http.patch("/v1/app", json={"calls_per_second": 5})
    assert_error(r, 401, "invalid_api_key")
    assert _app(user)["calls_per_second"] is None
