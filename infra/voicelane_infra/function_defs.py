"""What a FunctionDef asks of the infrastructure, checked before anything is built: its
trigger kinds, its grants, whether it runs in the VPC, its deployed name."""

from __future__ import annotations

from voicelane import resources

KNOWN_TRIGGERS = (
    "http",
    "invoke",
    "sqs",
    "stream",
    "schedule",
    "eventbridge",
    "scheduler",
    "websocket",
)
SIMPLE_GRANTS = (
    "table:read",
    "table:write",
    "bucket:read",
    "bucket:write",
    "bus:put",
    "scheduler:manage",
    "media:internal",
    "websocket:manage",
)


def parse_trigger(trigger: str) -> tuple[str, str]:
    """``sqs:webhook-deliveries`` -> (``sqs``, ``webhook-deliveries``)."""
    kind, _, arg = trigger.partition(":")
    if kind not in KNOWN_TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r} (known: {', '.join(KNOWN_TRIGGERS)})")
    if kind in {"sqs", "schedule", "eventbridge"} and not arg:
        raise ValueError(f"trigger {trigger!r} needs an argument ({kind}:<...>)")
    return kind, arg


def validate_grant(grant: str) -> None:
    if grant in SIMPLE_GRANTS:
        return
    parts = grant.split(":")
    if len(parts) == 3 and parts[0] in {"queue", "dlq"} and parts[2] in {"send"}:
        return
    if len(parts) == 2 and parts[0] == "invoke" and parts[1]:
        return
    raise ValueError(
        f"unknown grant {grant!r}: use one of {', '.join(SIMPLE_GRANTS)}, "
        "queue:<logical id>:send, dlq:<logical id>:send, invoke:<function name>"
    )


def runs_in_vpc(fdef: resources.FunctionDef) -> bool:
    return "media:internal" in fdef.grants


def endpoint_services(defs: tuple[resources.FunctionDef, ...]) -> frozenset[str]:
    """Interface endpoints the in-VPC functions need when there is no NAT."""
    services: set[str] = set()
    for fdef in defs:
        if not runs_in_vpc(fdef):
            continue
        for grant in fdef.grants:
            if grant.startswith("queue:"):
                services.add("sqs")
            elif grant == "bus:put":
                services.add("events")
            elif grant == "scheduler:manage":
                services.add("scheduler")
            elif grant.startswith("invoke:"):
                services.add("lambda")
    return frozenset(services)


def function_name(stage: str, fdef: resources.FunctionDef) -> str:
    return f"voicelane-{stage}-{fdef.name}"
