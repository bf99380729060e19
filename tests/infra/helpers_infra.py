"""Template queries shared by the infra tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STAGE = "test"


def of_type(resources: dict[str, dict[str, Any]], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == type_}


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties", {})  # type: ignore[no-any-return]


def ref_ids(value: Any) -> set[str]:
    """Logical ids referenced (Ref / Fn::GetAtt) anywhere inside value."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= ref_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= ref_ids(item)
    return found


def statements(resources: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, res in of_type(resources, "AWS::IAM::Policy").items():
        for statement in props(res)["PolicyDocument"]["Statement"]:
            yield logical_id, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_by_name(resources: dict[str, dict[str, Any]], name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, res in of_type(resources, "AWS::Lambda::Function").items():
        if props(res).get("FunctionName") == name:
            return logical_id, res
    raise AssertionError(f"no function named {name}")


def synth(tmp_root: Path, context: dict[str, Any]) -> Any:
    from aws_cdk.assertions import Template
    from voicelane_infra.app import build_app, stack_name

    saved = {k: os.environ.pop(k, None) for k in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")}
    os.environ["CDK_DOCKER"] = "/bin/false"
    try:
        app = build_app(context=context, outdir=str(tmp_root / "cdk.out"))
        stack = app.node.find_child(stack_name(str(context["stage"])))
        return Template.from_stack(stack)  # type: ignore[arg-type]
    finally:
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value
