"""Conversion between plain Python values and DynamoDB attribute values."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    from botocore.exceptions import ClientError


@cache
def _ser() -> TypeSerializer:
    # Imported on first use: `boto3.dynamodb` pulls in all of boto3 (slow cold starts).
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


@cache
def _de() -> TypeDeserializer:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_dynamo_value(v) for v in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo_value(v) for v in value]
    if isinstance(value, set):
        return sorted(_from_dynamo_value(v) for v in value)
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """A plain dict (None values dropped) as a DynamoDB item."""
    return {k: _ser().serialize(_to_dynamo_value(v)) for k, v in item.items() if v is not None}


def serialize_value(value: Any) -> Any:
    return _ser().serialize(_to_dynamo_value(value))


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo_value(_de().deserialize(v)) for k, v in item.items()}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_codes(exc: ClientError) -> list[str]:
    """Per-item reasons of a canceled transaction ('ConditionalCheckFailed', 'None', ...)."""
    reasons = exc.response.get("CancellationReasons") or []
    if not reasons:
        # Some endpoints only put the reasons in the message: "[None, ConditionalCheckFailed]".
        msg = str(exc.response.get("Error", {}).get("Message", ""))
        if "[" in msg:
            inner = msg[msg.index("[") + 1 : msg.rindex("]")]
            return [part.strip() for part in inner.split(",")]
        return []
    return [str(r.get("Code", "None")) for r in reasons]


# Attributes of the single-table layout, not of the record itself.
TABLE_KEYS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "entity", "expires_at"})


def strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    """A stored item without the table's key and bookkeeping attributes."""
    return {k: v for k, v in item.items() if k not in TABLE_KEYS}
