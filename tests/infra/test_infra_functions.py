"""Functions: every module in functions/ deployed with the right handler, every OpenAPI route
routed to a function, triggers wired, environment from the settings names."""

from __future__ import annotations

import json
from typing import Any

import pytest
from voicelane import resources
from voicelane.settings import Settings

from tests.infra.helpers_infra import REPO, STAGE, function_by_name, of_type, props, ref_ids

FUNCTIONS_DIR = REPO / "functions"
OPENAPI = REPO / "docs" / "openapi.json"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _modules() -> list[str]:
    return sorted(
        p.stem
        for p in FUNCTIONS_DIR.glob("*.py")
        if p.stem != "__init__" and not p.stem.startswith("_")
    )


def _name(fdef: resources.FunctionDef) -> str:
    return f"voicelane-{STAGE}-{fdef.name}"


def test_functions_dir_has_modules() -> None:
    assert _modules(), "functions/ has no handler modules"


@pytest.mark.parametrize("module", _modules())
def test_every_module_is_deployed_with_its_handler(
    module: str, resources_json: dict[str, Any]
) -> None:
    defs = [f for f in resources.FUNCTIONS if f.module == module]
    assert defs, f"functions/{module}.py has no FunctionDef in voicelane.resources.FUNCTIONS"
    for fdef in defs:
        _, res = function_by_name(resources_json, _name(fdef))
        p = props(res)
        assert p["Handler"] == f"functions.{module}.handler"
        assert p["Runtime"].startswith("python3.1") and p["Runtime"] >= "python3.11"
        assert p["Architectures"] == ["arm64"]
        assert p["TracingConfig"] == {"Mode": "Active"}
        assert len(p["Layers"]) == 1


def test_every_function_def_is_deployed_once(resources_json: dict[str, Any]) -> None:
    deployed = {
        props(r).get("FunctionName")
        for r in of_type(resources_json, "AWS::Lambda::Function").values()
    }
    for fdef in resources.FUNCTIONS:
        assert _name(fdef) in deployed


def test_each_function_has_its_own_role(resources_json: dict[str, Any]) -> None:
    roles = []
    for fdef in resources.FUNCTIONS:
        _, res = function_by_name(resources_json, _name(fdef))
        roles.append(tuple(sorted(ref_ids(props(res)["Role"]))))
    assert len(set(roles)) == len(roles)


def test_environment_uses_settings_names(resources_json: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    for fdef in resources.FUNCTIONS:
        _, res = function_by_name(resources_json, _name(fdef))
        variables = props(res)["Environment"]["Variables"]
        for key in variables:
            if key.startswith("VOICELANE_"):
                assert key.removeprefix("VOICELANE_").lower() in fields, key
        for key in (
            "POWERTOOLS_SERVICE_NAME",
            "POWERTOOLS_LOG_LEVEL",
            "POWERTOOLS_METRICS_NAMESPACE",
        ):
            assert key in variables, (fdef.name, key)
        for key in ("VOICELANE_STAGE", "VOICELANE_TABLE_NAME", "VOICELANE_EVENT_BUS_NAME"):
            assert key in variables, (fdef.name, key)
        for secret in ("VOICELANE_SESSION_TOKEN_SECRET", "VOICELANE_INTERNAL_TOKEN"):
            if secret in variables:
                rendered = json.dumps(variables[secret])
                assert "{{resolve:secretsmanager:" in rendered, (fdef.name, secret)


def _routes(resources_json: dict[str, Any]) -> dict[str, str]:
    """Route path -> function logical id, through the route's integration."""
    integrations = of_type(resources_json, "AWS::ApiGatewayV2::Integration")
    routes: dict[str, str] = {}
    for res in of_type(resources_json, "AWS::ApiGatewayV2::Route").values():
        if props(res)["RouteKey"].startswith("$"):
            continue  # WebSocket API routes
        method, _, path = props(res)["RouteKey"].partition(" ")
        assert method == "ANY"
        (integration_id,) = ref_ids(props(res)["Target"])
        (fn_id,) = ref_ids(props(integrations[integration_id])["IntegrationUri"])
        routes[path] = fn_id
    return routes


def _route_for(path: str, routes: dict[str, str]) -> str | None:
    """The route API Gateway picks for an OpenAPI path: literal segments beat ``{param}``
    segments, which beat a greedy ``{proxy+}``."""
    segments = path.strip("/").split("/")
    best: tuple[tuple[int, ...], str] | None = None
    for route in routes:
        parts = route.strip("/").split("/")
        score: list[int] = []
        for i, part in enumerate(parts):
            if part == "{proxy+}":
                ok = i < len(segments)
                score.append(0)
                if ok:
                    break
                score = []
                break
            if i >= len(segments):
                score = []
                break
            if part.startswith("{"):
                score.append(1)
            elif part == segments[i]:
                score.append(2)
            else:
                score = []
                break
        else:
            if len(parts) != len(segments):
                score = []
        if score and (best is None or tuple(score) > best[0]):
            best = (tuple(score), route)
    return best[1] if best else None


def test_route_matching_prefers_specific_routes() -> None:
    routes = {
        "/v1/calls": "a",
        "/v1/calls/{proxy+}": "a",
        "/v1/calls/{call_id}/deliveries": "b",
        "/healthz": "c",
    }
    assert _route_for("/v1/calls", routes) == "/v1/calls"
    assert _route_for("/v1/calls/{id}", routes) == "/v1/calls/{proxy+}"
    assert _route_for("/v1/calls/{id}/deliveries", routes) == "/v1/calls/{call_id}/deliveries"
    assert _route_for("/v1/calls/{id}/events", routes) == "/v1/calls/{proxy+}"
    assert _route_for("/v1/agents", routes) is None
    assert _route_for("/healthz", routes) == "/healthz"


def test_http_routes_match_function_defs(resources_json: dict[str, Any]) -> None:
    routes = _routes(resources_json)
    for fdef in resources.FUNCTIONS:
        if "http" not in fdef.triggers:
            continue
        fn_id, _ = function_by_name(resources_json, _name(fdef))
        for path in fdef.routes:
            assert routes.get(path) == fn_id, f"{path} not routed to {fdef.name}"


def test_every_openapi_route_is_routed_to_a_function(resources_json: dict[str, Any]) -> None:
    if not OPENAPI.exists():
        pytest.skip("docs/openapi.json not generated yet (make openapi)")
    spec = json.loads(OPENAPI.read_text())
    routes = _routes(resources_json)
    functions = of_type(resources_json, "AWS::Lambda::Function")
    unrouted = []
    for path, item in spec["paths"].items():
        if not HTTP_METHODS & set(item):
            continue
        route = _route_for(path, routes)
        if route is None:
            unrouted.append(path)
            continue
        owner = [f for f in resources.FUNCTIONS if route in f.routes]
        assert len(owner) == 1, route
        assert props(functions[routes[route]])["FunctionName"] == _name(owner[0]), path
    assert not unrouted, f"OpenAPI paths with no route on the HTTP API: {unrouted}"


def test_create_call_rule_on_the_bus(template: Any, resources_json: dict[str, Any]) -> None:
    for fdef in resources.FUNCTIONS:
        for trigger in fdef.triggers:
            if not trigger.startswith("eventbridge:"):
                continue
            fn_id, _ = function_by_name(resources_json, _name(fdef))
            rules = [
                r
                for r in of_type(resources_json, "AWS::Events::Rule").values()
                if props(r).get("EventPattern", {}).get("detail-type") == [trigger.split(":", 1)[1]]
            ]
            assert len(rules) == 1, trigger
            p = props(rules[0])
            assert p["EventPattern"]["source"] == [resources.EVENT_BUS.source]
            assert ref_ids(p["EventBusName"])
            assert fn_id in ref_ids(p["Targets"][0]["Arn"])
            assert "DeadLetterConfig" in p["Targets"][0]
    assert any(
        t == f"eventbridge:{resources.EVENT_BUS.create_call_detail_type}"
        for f in resources.FUNCTIONS
        for t in f.triggers
    )


def test_schedules(resources_json: dict[str, Any]) -> None:
    for fdef in resources.FUNCTIONS:
        for trigger in fdef.triggers:
            if trigger.startswith("schedule:"):
                fn_id, _ = function_by_name(resources_json, _name(fdef))
                rules = [
                    r
                    for r in of_type(resources_json, "AWS::Events::Rule").values()
                    if props(r).get("ScheduleExpression") == trigger.split(":", 1)[1]
                ]
                assert any(fn_id in ref_ids(props(r)["Targets"]) for r in rules), trigger


def test_scheduler_role_invokes_dispatch_function(resources_json: dict[str, Any]) -> None:
    targets = [f for f in resources.FUNCTIONS if "scheduler" in f.triggers]
    assert len(targets) == 1
    fn_id, _ = function_by_name(resources_json, _name(targets[0]))
    roles = {
        k
        for k, r in of_type(resources_json, "AWS::IAM::Role").items()
        if "scheduler.amazonaws.com" in json.dumps(props(r)["AssumeRolePolicyDocument"])
    }
    assert len(roles) == 1
    (role_id,) = roles
    invokes = [
        s
        for r in of_type(resources_json, "AWS::IAM::Policy").values()
        if role_id in ref_ids(props(r)["Roles"])
        for s in props(r)["PolicyDocument"]["Statement"]
        if s["Action"] == "lambda:InvokeFunction"
    ]
    assert invokes and all(fn_id in ref_ids(s["Resource"]) for s in invokes)
    group = [r for r in of_type(resources_json, "AWS::Scheduler::ScheduleGroup").values()]
    assert props(group[0])["Name"] == f"{resources.SCHEDULE_GROUP}-{STAGE}"


def test_http_api_logs_and_throttles(template: Any) -> None:
    from aws_cdk.assertions import Match

    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "AccessLogSettings": Match.object_like({"DestinationArn": Match.any_value()}),
            "DefaultRouteSettings": Match.object_like(
                {
                    "ThrottlingRateLimit": Match.any_value(),
                    "ThrottlingBurstLimit": Match.any_value(),
                }
            ),
        },
    )


def test_events_websocket_routes(resources_json: dict[str, Any]) -> None:
    targets = [f for f in resources.FUNCTIONS if "websocket" in f.triggers]
    if not targets:
        pytest.skip("no websocket FunctionDef")
    fn_id, _ = function_by_name(resources_json, _name(targets[0]))
    integrations = of_type(resources_json, "AWS::ApiGatewayV2::Integration")
    keys = set()
    two_way = set()
    for res in of_type(resources_json, "AWS::ApiGatewayV2::Route").values():
        key = props(res)["RouteKey"]
        if key.startswith("$"):
            (integration_id,) = ref_ids(props(res)["Target"])
            assert fn_id in ref_ids(props(integrations[integration_id])["IntegrationUri"])
            keys.add(key)
            if props(res).get("RouteResponseSelectionExpression") == "$default":
                two_way.add(key)
    assert keys == {"$connect", "$disconnect", "$default"}
    # commands on the stream are answered as $default's route response
    assert two_way == {"$default"}
    assert of_type(resources_json, "AWS::ApiGatewayV2::RouteResponse")
    managers = [f for f in resources.FUNCTIONS if "websocket:manage" in f.grants]
    for fdef in managers:
        _, res = function_by_name(resources_json, _name(fdef))
        assert "VOICELANE_EVENTS_WS_MANAGEMENT_URL" in props(res)["Environment"]["Variables"]
