"""Bodies the store cannot hold are refused at the contract: 422, a code, nothing written.

DynamoDB numbers have 38 significant digits and a magnitude of 1e-130..9.99e125; free-form
objects (a call's or session's `context`, an agent's `script`, a tool's `parameters`) are
bounded in depth and size. Before, such a body reached the serializer and answered 500.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.voicelane.api.api_helpers import ApiUser, assert_error


def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        node = {"n": node}
    return node


# (case, JSON text of the value, detail type)
BAD_VALUES: list[tuple[str, str, str]] = [
    ("tiny float", "1e-200", "number_out_of_range"),
    ("huge float", "1e200", "number_out_of_range"),
    ("float beyond double", "1e400", "number_out_of_range"),
    ("negative tiny", "-1e-131", "number_out_of_range"),
    ("39-digit integer", "1" * 39, "number_out_of_range"),
    ("in a list", "[1, 2, 1e-200]", "number_out_of_range"),
    ("deep", str(_deep(20)).replace("'", '"'), "json_too_deep"),
    ("empty key", '{"": 1}', "json_key_invalid"),
]


def _free_form_bodies(user: ApiUser, value: str) -> list[tuple[str, str]]:
    call = '{"from": "FROM", "to": "+14155550199", '.replace("FROM", user.number)
    bodies = [
        ("/v1/calls", call + '"context": {"a": VALUE}}'),
        ("/v1/calls", call + '"agent": {"script": {"a": VALUE}}}'),
        ("/v1/agents", '{"script": {"states": VALUE}}'),
        ("/v1/agents", '{"tools": [{"name": "t", "type": "end_call", "parameters": {"a": VALUE}}]}'),
    ]
    return [(path, body.replace("VALUE", value)) for path, body in bodies]


@pytest.mark.parametrize(("case", "value", "kind"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_a_value_the_store_cannot_hold_is_refused_and_nothing_is_written(
    user: ApiUser, case: str, value: str, kind: str
) -> None:
    for path, body in _free_form_bodies(user, value):
        r = user.request("POST", path, content=body,
                         headers={"Content-Type": "application/json"})
        error = assert_error(r, 422, "validation_error")
        assert kind in {d["type"] for d in error["details"]}, (path, error)
    assert user.call_ids() == []
    assert user.request("GET", "/v1/agents").json()["data"] == []


def test_storable_numbers_at_the_edges_are_kept(user: ApiUser) -> None:
    context = {"small": 1e-130, "big": 9.99e125, "zero": 0.0, "neg": -5e-100,
               "int38": int("9" * 38), "nested": [{"x": [1.5]}]}
    r = user.create_call(context=context)
    assert r.status_code == 201, r.text
    got = user.request("GET", f"/v1/calls/{r.json()['id']}").json()["context"]
    # The store gives an integral number back as an integer (the same JSON number).
    assert float(got.pop("big")) == context.pop("big")
    assert got == context


@pytest.mark.parametrize("body", [
    {"temperature": 1e-200},
    {"temperature": 5e-324},
], ids=["temperature", "subnormal temperature"])
def test_a_typed_float_the_store_cannot_hold_is_refused(user: ApiUser, body: dict[str, Any]) -> None:
    error = assert_error(user.request("POST", "/v1/agents", json=body), 422, "validation_error")
    assert "number_out_of_range" in {d["type"] for d in error["details"]}
    assert user.request("GET", "/v1/agents").json()["data"] == []


def test_patching_an_agent_with_an_unstorable_script_changes_nothing(user: ApiUser) -> None:
    agent = user.request("POST", "/v1/agents", json={"name": "a"}).json()
    r = user.request("PATCH", f"/v1/agents/{agent['id']}", content='{"script": {"a": 1e-200}}',
                     headers={"Content-Type": "application/json"})
    assert_error(r, 422, "validation_error")
    assert user.request("GET", f"/v1/agents/{agent['id']}").json() == agent


def test_free_form_objects_and_agents_have_a_size_limit(user: ApiUser) -> None:
    big = {"k": "x" * 17_000}
    error = assert_error(user.create_call(context=big), 422, "validation_error")
    assert "json_too_large" in {d["type"] for d in error["details"]}
    tools = [{"name": f"t{i}", "type": "end_call", "parameters": {"d": "x" * 8000}}
             for i in range(20)]
    error = assert_error(user.request("POST", "/v1/agents", json={"tools": tools}), 422,
                         "validation_error")
    assert "json_too_large" in {d["type"] for d in error["details"]}
    r = user.create_call(sip_headers={f"X-H{i}": "v" for i in range(33)})
    assert_error(r, 422, "validation_error")
    assert user.call_ids() == []
