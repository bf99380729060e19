"""The API against its own OpenAPI document: schemathesis, every check, in-process.

A bounded, deterministic run (fixed seed, a few dozen examples per operation) of the
examples, coverage and fuzzing phases, positive and negative data, against the in-process
ASGI app on the session's moto. It must find no 5xx, no answer outside its documented
statuses and schemas, no missing `Allow`, no valid request refused except by a documented
business rule (the 422 codes each operation lists in `x-voicelane-business-rules`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance
from voicelane.api.app import create_app
from voicelane_local.platform import LocalPlatform

from tests.conftest import Tenant
from tests.voicelane.api.api_helpers import e164

SEED = 20261206
MAX_EXAMPLES = 20
ACTION_EXAMPLES = 10
RAISED = {"create_call": 100_000, "sessions": 100_000, "reads": 100_000, "lists": 100_000,
          "writes": 100_000}

CONFIG = SchemathesisConfig.from_dict({
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
                   "database": "none"},
    "phases": {"stateful": {"enabled": False}},
    # One operation per live command with a body (and one for those without): fewer examples
    # each and no coverage phase (its boundary cases cost ~6 s per operation here), so the nine
    # cost about what the one untyped operation did. A run with the coverage phase on for them
    # passed too when the typed bodies landed; set it on when changing an action's body.
    "operations": [{"include-path-regex": "/actions/", "generation": {"max-examples": ACTION_EXAMPLES},
                    "phases": {"coverage": {"enabled": False}}}],
})


@dataclass
class FuzzApp:
    tenant: Tenant
    number: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def fuzz_app(local_platform: LocalPlatform) -> FuzzApp:
    """One app for the whole run (hypothesis wants no function-scoped fixture): limits raised
    so the run measures the contract, not the rate limiter, and a number it owns."""
    apps = local_platform.container.apps
    app = apps.create_app("fuzz", rate_limits=RAISED, max_concurrent_calls=100_000,
                          calls_per_second=1000, destination_allow_list=["*"])
    key, plaintext = apps.create_key(app.app_id, "test")
    number = e164("1650")
    local_platform.container.numbers.create(app, number, None, None)
    tenant = Tenant(app=app, key=key, api_key=plaintext)
    with TestClient(create_app()) as client:
        agent = client.post("/v1/agents", json={"name": "fuzz"}, headers=tenant.headers)
        call = client.post("/v1/calls", json={"from": number, "to": e164()},
                           headers=tenant.headers)
    assert agent.status_code == call.status_code == 201, (agent.text, call.text)
    return FuzzApp(tenant, number, {"agent_id": agent.json()["id"], "call_id": call.json()["id"]})


# Loaded at import (no AWS call: the app builds its container on the first request, by then
# the session's local platform runs). The lazy `from_fixture` loader fails on pytest 9.2.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(), config=CONFIG)


def _business_rules(case: Case, status: int) -> list[str]:
    """The codes the operation documents for `status` beyond schema validation."""
    answer = case.operation.definition.raw.get("responses", {}).get(str(status), {})
    return [c for c in answer.get("x-error-codes", []) if c != "validation_error"]


def _accepts_valid_data(case: Case, response: Any, headers: dict[str, str]) -> None:
    """schemathesis' positive_data_acceptance, except a refusal by a business rule the
    operation documents (e.g. 422 agent_not_found for an agent_id that does not exist)."""
    try:
        case.validate_response(response, headers=headers, checks=[positive_data_acceptance])
    except FailureGroup:
        error = response.json().get("error") or {}
        documented = _business_rules(case, response.status_code)
        if error.get("code") in documented:
            return
        details = error.get("details")
        kinds = {d.get("type") for d in details} if isinstance(details, list) else {None}
        if error.get("code") == "validation_error" and kinds <= set(documented):
            return  # a rule of free-form JSON the operation documents (e.g. number_out_of_range)
        raise


@schema.parametrize()
def test_the_api_keeps_its_openapi_contract(case: Case, fuzz_app: FuzzApp) -> None:
    headers = fuzz_app.tenant.headers
    if (case.method == "POST" and case.path == "/v1/calls" and isinstance(case.body, dict)
            and case.body.get("from_channel", "pstn") == "pstn"):
        # Calls from a number the app owns, so the run goes past from_number_not_owned into
        # the paths that store a call.
        case.body["from"] = fuzz_app.number
    if case.path_parameters and case.meta is not None and case.meta.generation.mode.is_positive:
        # Half the positive cases name a resource that exists, so PATCH and the live
        # commands get past 404 to their bodies.
        for name, value in fuzz_app.ids.items():
            if name in case.path_parameters and zlib.crc32(repr(case.body).encode()) % 2 == 0:
                case.path_parameters[name] = value
    response = case.call(headers=headers)
    assert response.status_code < 500, response.text
    case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])
    _accepts_valid_data(case, response, headers)
