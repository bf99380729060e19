"""Alarms, dashboard, outputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from voicelane import resources

from tests.infra.helpers_infra import REPO, of_type, props, ref_ids


def test_alarm_on_every_dlq(resources_json: dict[str, Any]) -> None:
    dlqs = {
        k
        for k, r in of_type(resources_json, "AWS::SQS::Queue").items()
        if props(r)["QueueName"].endswith("-dlq")
    }
    assert len(dlqs) >= len(resources.QUEUES)
    alarmed = set()
    for alarm in of_type(resources_json, "AWS::CloudWatch::Alarm").values():
        if props(alarm).get("MetricName") == "ApproximateNumberOfMessagesVisible":
            alarmed |= ref_ids(props(alarm)["Dimensions"])
    assert dlqs <= alarmed, dlqs - alarmed


def test_errors_and_throttles_alarm_on_every_function(resources_json: dict[str, Any]) -> None:
    functions = set(of_type(resources_json, "AWS::Lambda::Function"))
    seen: dict[str, set[str]] = {"Errors": set(), "Throttles": set()}
    for alarm in of_type(resources_json, "AWS::CloudWatch::Alarm").values():
        name = props(alarm).get("MetricName")
        if name in seen and props(alarm).get("Namespace") == "AWS/Lambda":
            seen[name] |= ref_ids(props(alarm)["Dimensions"])
            assert props(alarm)["AlarmActions"]
    deployed = {k for k in functions if not k.startswith(("AWS", "Custom"))}
    assert deployed <= seen["Errors"]
    assert deployed <= seen["Throttles"]


def test_media_health_alarms(resources_json: dict[str, Any]) -> None:
    metrics = {
        props(a).get("MetricName")
        for a in of_type(resources_json, "AWS::CloudWatch::Alarm").values()
    }
    assert {"UnHealthyHostCount", "HealthyHostCount"} <= metrics


def test_dashboard(template: Any) -> None:
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_outputs(template: Any) -> None:
    outputs = template.to_json()["Outputs"]
    for name in ("ApiUrl", "SipEndpoint", "EventBusName", "RecordingsBucketName"):
        assert name in outputs, name


def _dashboard_body(resources_json: dict[str, Any]) -> str:
    (dashboard,) = of_type(resources_json, "AWS::CloudWatch::Dashboard").values()
    body = props(dashboard)["DashboardBody"]
    if isinstance(body, dict) and "Fn::Join" in body:  # tokens (ARNs, names) in between
        return "".join(part for part in body["Fn::Join"][1] if isinstance(part, str))
    return str(body)


def _voicelane_metrics(body: str) -> set[str]:
    """Names the dashboard charts in the application namespace `Voicelane`: in SEARCH
    expressions and in metric arrays (["Voicelane", "LiveCalls", ...])."""
    searched = set(re.findall(r'\{Voicelane\} MetricName=\\"(\w+)\\"', body))
    listed = set(re.findall(r'\["Voicelane","(\w+)"', body))
    return searched | listed


def _emitted(name: str, sources: dict[Path, str]) -> list[Path]:
    """Files that emit ``name``: a Powertools call with the literal name (`obs.count`,
    `add_metric`, `single_metric`), or an EMF record declaring a constant holding it."""
    call = re.compile(rf'(?:count|add_metric|single_metric)\(\s*(?:name=)?"{name}"')
    found = []
    for path, text in sources.items():
        if call.search(text):
            found.append(path)
            continue
        for const in re.findall(rf'^(\w+) = "{name}"$', text, re.M):
            if re.search(rf'"Name": {const}\b', text):
                found.append(path)
    return found


def test_every_dashboard_metric_is_emitted_by_code(resources_json: dict[str, Any]) -> None:
    charted = _voicelane_metrics(_dashboard_body(resources_json))
    # The dashboard's application graphs: a parse that found none would prove nothing.
    assert {"CallsStarted", "WebhookFailures", "TurnLatencyMs", "LiveCalls"} <= charted, charted
    roots = [REPO / "functions", REPO / "layers/voicelane/voicelane",
             REPO / "media-fargate/voicelane_media"]
    sources = {p: p.read_text() for root in roots for p in root.rglob("*.py")}
    orphans = {name for name in charted if not _emitted(name, sources)}
    assert not orphans, f"the dashboard charts metrics no code emits: {sorted(orphans)}"
