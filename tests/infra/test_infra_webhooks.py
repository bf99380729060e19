"""The webhook fan-out in AWS: the dispatcher can dead-letter deliveries itself, and the event
router only sees inserted call/app events."""

from __future__ import annotations

from typing import Any

from voicelane import resources

from tests.infra.helpers_infra import (
    STAGE,
    as_list,
    function_by_name,
    of_type,
    props,
    ref_ids,
    statements,
)

DLQ_NAME = resources.WEBHOOK_DELIVERIES_QUEUE.dlq_physical_name(STAGE)


def _dlq_id(resources_json: dict[str, Any]) -> str:
    queues = of_type(resources_json, "AWS::SQS::Queue")
    (dlq_id,) = [k for k, r in queues.items() if props(r).get("QueueName") == DLQ_NAME]
    return dlq_id


def test_dispatcher_knows_and_may_send_to_the_deliveries_dlq(resources_json: dict[str, Any]) -> None:
    dlq_id = _dlq_id(resources_json)
    _, fn = function_by_name(resources_json, f"voicelane-{STAGE}-webhook-dispatcher")
    variables = props(fn)["Environment"]["Variables"]
    assert ref_ids(variables["VOICELANE_WEBHOOK_DELIVERIES_DLQ_URL"]) == {dlq_id}
    (role_id,) = ref_ids(props(fn)["Role"])
    sends = [
        st for policy_id, st in statements(resources_json)
        if role_id in ref_ids(props(resources_json[policy_id]).get("Roles", []))
        and "sqs:SendMessage" in as_list(st["Action"]) and dlq_id in ref_ids(st["Resource"])
    ]
    assert sends, "the dispatcher may not send to the webhook-deliveries DLQ"


def test_router_stream_source_filters_inserted_events(resources_json: dict[str, Any]) -> None:
    fn_id, _ = function_by_name(resources_json, f"voicelane-{STAGE}-event-router")
    (mapping,) = [r for r in of_type(resources_json, "AWS::Lambda::EventSourceMapping").values()
                  if fn_id in ref_ids(props(r)["FunctionName"])]
    (pattern,) = [f["Pattern"] for f in props(mapping)["FilterCriteria"]["Filters"]]
    assert '"eventName":["INSERT"]' in pattern.replace(" ", "")
    assert '"entity":{"S":["event","conference_event","app_event"]}' in pattern.replace(" ", "")
