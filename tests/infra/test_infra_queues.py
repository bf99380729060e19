"""Queues: a dead-letter queue and redrive on every queue; batch failures reported."""

from __future__ import annotations

from typing import Any

from voicelane import resources

from tests.infra.helpers_infra import STAGE, of_type, props, ref_ids


def _dead_letter_targets(resources_json: dict[str, Any]) -> set[str]:
    """Queues used as a dead-letter destination by a redrive policy, an event source mapping
    or an EventBridge target."""
    targets: set[str] = set()
    for res in of_type(resources_json, "AWS::SQS::Queue").values():
        targets |= ref_ids(props(res).get("RedrivePolicy", {}))
    for res in of_type(resources_json, "AWS::Lambda::EventSourceMapping").values():
        targets |= ref_ids(props(res).get("DestinationConfig", {}))
    for res in of_type(resources_json, "AWS::Events::Rule").values():
        for target in props(res).get("Targets", []):
            targets |= ref_ids(target.get("DeadLetterConfig", {}))
    return targets


def test_every_shared_queue_has_dlq_with_redrive(resources_json: dict[str, Any]) -> None:
    queues = of_type(resources_json, "AWS::SQS::Queue")
    by_name = {props(r).get("QueueName"): (k, r) for k, r in queues.items()}
    for queue_def in resources.QUEUES:
        _, res = by_name[queue_def.physical_name(STAGE)]
        redrive = props(res).get("RedrivePolicy")
        assert redrive, f"{queue_def.logical_id} has no RedrivePolicy"
        assert redrive["maxReceiveCount"] == queue_def.max_receive_count
        (dlq_id,) = ref_ids(redrive["deadLetterTargetArn"])
        dlq = queues[dlq_id]
        assert props(dlq)["QueueName"] == queue_def.dlq_physical_name(STAGE)
        assert props(dlq)["MessageRetentionPeriod"] == queue_def.dlq_retention_s
        assert props(dlq)["RedriveAllowPolicy"]["redrivePermission"] == "byQueue"


def test_every_queue_has_a_dlq_or_is_one(resources_json: dict[str, Any]) -> None:
    dead_letter = _dead_letter_targets(resources_json)
    queues = of_type(resources_json, "AWS::SQS::Queue")
    working = {k: r for k, r in queues.items() if k not in dead_letter}
    assert len(working) >= len(resources.QUEUES) > 0, sorted(queues)  # both kinds were found
    assert dead_letter & set(queues), sorted(queues)
    for logical_id in dead_letter & set(queues):
        assert props(queues[logical_id])["QueueName"].endswith("-dlq"), logical_id
    for logical_id, res in working.items():
        assert "RedrivePolicy" in props(res), f"queue {logical_id} has no dead-letter queue"


def test_event_sources_report_batch_item_failures(resources_json: dict[str, Any]) -> None:
    mappings = of_type(resources_json, "AWS::Lambda::EventSourceMapping")
    expected = sum(
        1 for f in resources.FUNCTIONS for t in f.triggers if t.startswith("sqs:") or t == "stream"
    )
    assert len(mappings) == expected
    for logical_id, res in mappings.items():
        assert props(res)["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id


def test_stream_source_has_failure_destination(resources_json: dict[str, Any]) -> None:
    stream_mappings = [
        res
        for res in of_type(resources_json, "AWS::Lambda::EventSourceMapping").values()
        if "StartingPosition" in props(res)
    ]
    assert stream_mappings, "no stream consumer"
    for res in stream_mappings:
        p = props(res)
        assert p["BisectBatchOnFunctionError"] is True
        assert p["DestinationConfig"]["OnFailure"]["Destination"]
        assert p["MaximumRetryAttempts"] >= 1


def test_sqs_consumer_timeout_within_visibility(resources_json: dict[str, Any]) -> None:
    functions = of_type(resources_json, "AWS::Lambda::Function")
    queues = of_type(resources_json, "AWS::SQS::Queue")
    for res in of_type(resources_json, "AWS::Lambda::EventSourceMapping").values():
        p = props(res)
        if "StartingPosition" in p:
            continue
        (queue_id,) = ref_ids(p["EventSourceArn"])
        (fn_id,) = ref_ids(p["FunctionName"])
        assert props(functions[fn_id])["Timeout"] <= props(queues[queue_id])["VisibilityTimeout"]
