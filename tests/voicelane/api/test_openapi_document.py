"""The checked-in OpenAPI document matches the code, and every route errs in the one shape."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from voicelane.openapi import document, render

from tests.voicelane.api.api_helpers import assert_error

CHECKED_IN = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_docs_openapi_json_is_up_to_date() -> None:
    current = render(document())
    assert CHECKED_IN.exists(), "docs/openapi.json is missing: run `python -m voicelane.openapi`"
    assert json.loads(CHECKED_IN.read_text()) == json.loads(current), (
        "docs/openapi.json differs from the API: regenerate it with `python -m voicelane.openapi`"
    )


def test_openapi_json_is_served(http: httpx.Client) -> None:
    r = http.get("/openapi.json")
    assert r.status_code == 200 and r.json() == document()


def _routes() -> list[tuple[str, str]]:
    out = []
    for path, ops in document()["paths"].items():
        for method in ops:
            if path not in ("/healthz",):
                out.append((method.upper(), path))
    return out


@pytest.mark.parametrize(("method", "path"), _routes())
def test_every_route_refuses_a_missing_key_in_the_one_shape(
    http: httpx.Client, method: str, path: str
) -> None:
    concrete = re.sub(r"\{[^}]+\}", "x_unknown", path)
    r = http.request(method, concrete, json={})
    assert_error(r, 401, r.json().get("error", {}).get("code", "?"))


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return _resolve(spec, node)


def test_every_2xx_answer_has_a_schema_with_properties() -> None:
    """Each success answer names a model (a `contracts` response model), not `{}` or a free
    dict; 204 No Content has no body, so no schema."""
    spec = json.loads(CHECKED_IN.read_text())
    missing = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if not status.startswith("2"):
                    continue
                where = f"{method.upper()} {path} {status}"
                if status == "204":
                    if answer.get("content"):
                        missing.append(f"{where}: a 204 answer has no body")
                    continue
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                resolved = _resolve(spec, schema or {})
                if not resolved.get("properties"):
                    missing.append(f"{where}: {schema!r}")
    assert not missing, "2xx answers without a response model:\n" + "\n".join(missing)


def test_regenerating_with_a_shell_redirect_writes_the_document(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "openapi.json"
    with out.open("w") as fh:
        subprocess.run([sys.executable, "-m", "voicelane.openapi", str(out)], stdout=fh,
                       check=True, cwd=tmp_path)
    assert json.loads(out.read_text()) == json.loads(render(document()))


def test_the_document_states_the_rules_the_server_enforces() -> None:
    spec = json.loads(CHECKED_IN.read_text())
    schemas = spec["components"]["schemas"]
    assert schemas["CreateNumberRequest"]["properties"]["number"]["pattern"] == r"^\+[1-9]\d{1,14}$"
    call = schemas["CreateCallRequest"]
    assert {rule["then"]["properties"][side]["pattern"]
            for rule, side in zip(call["allOf"], ("from", "to"), strict=True)} == {
        r"^\+[1-9]\d{1,14}$"}
    create = spec["paths"]["/v1/calls"]["post"]
    key = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")["schema"]
    assert (key["minLength"], key["maxLength"]) == (1, 255)
    cursor = next(p for p in spec["paths"]["/v1/calls"]["get"]["parameters"]
                  if p["name"] == "cursor")["schema"]
    assert cursor["pattern"] and cursor["anyOf"][0]["maxLength"] == 512
    types = schemas["CreateWebhookRequest"]["properties"]["event_types"]
    assert (types["minItems"], types["maxItems"]) == (1, 50) and types["items"]["pattern"]
    assert schemas["CreateWebhookRequest"]["properties"]["url"]["format"] == "uri"
    assert "anyOf" in schemas["CreateTrunkRequest"]["properties"]["inbound_addresses"]["items"]


def test_every_operation_documents_its_errors_in_the_one_shape() -> None:
    spec = json.loads(CHECKED_IN.read_text())
    missing = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path == "/healthz":
                continue
            wanted = {"401", "422", "429"} | ({"404"} if "{" in path else set())
            for status in sorted(wanted - set(op["responses"])):
                missing.append(f"{method.upper()} {path}: {status}")
            for status, answer in op["responses"].items():
                if status.startswith("2"):
                    continue
                ref = answer["content"]["application/json"]["schema"].get("$ref", "")
                if not ref.endswith("/ErrorResponse") or not answer.get("x-error-codes"):
                    missing.append(f"{method.upper()} {path} {status}: {ref or answer}")
    assert not missing, "\n".join(missing)


def test_the_agent_patch_schema_has_the_agent_rules() -> None:
    """PATCH validates the merged agent as an AgentSpec; its schema says so (it was a bag of
    unbounded optional fields, so a schema-valid temperature of 5 was refused)."""
    schemas = json.loads(CHECKED_IN.read_text())["components"]["schemas"]
    patch, spec = schemas["AgentPatch"], schemas["AgentSpec"]
    assert "required" not in patch and patch["additionalProperties"] is False
    assert set(patch["properties"]) == set(spec["properties"])
    temperature = patch["properties"]["temperature"]
    assert (temperature["type"], temperature["minimum"], temperature["maximum"]) == ("number", 0, 1)
