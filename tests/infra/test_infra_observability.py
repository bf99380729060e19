"""Alarms, dashboard, outputs."""

from __future__ import annotations

from typing import Any

from voicelane import resources

from tests.infra.helpers_infra import of_type, props, ref_ids


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
