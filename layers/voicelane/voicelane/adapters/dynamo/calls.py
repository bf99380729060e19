"""Calls and their timelines: every status change is one conditional transaction (the outbox)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from botocore.exceptions import ClientError

from voicelane.adapters.dynamo.codec import cancellation_codes, error_code, strip_keys
from voicelane.adapters.dynamo.sessions import session_item
from voicelane.adapters.dynamo.table import Table
from voicelane.domain.call import ACTIVE, LIVE, CallStatus
from voicelane.domain.errors import (
    Conflict,
    IdempotencyConflict,
    LimitExceeded,
    NotFound,
    StaleWrite,
    ValidationFailed,
)
from voicelane.domain.ids import ulid_ceiling, ulid_floor
from voicelane.domain.models import Call, CallEvent
from voicelane.ports import CallCreation, CallFilter, IdempotencyRecord, Page


def call_key(call_id: str) -> tuple[str, str]:
    return f"CALL#{call_id}", "CALL"


def event_sk(sequence: int) -> str:
    return f"EVENT#{sequence:010d}"


def call_item(call: Call) -> dict[str, Any]:
    pk, sk = call_key(call.call_id)
    data = call.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {
        **data,
        "pk": pk,
        "sk": sk,
        "entity": "call",
        "gsi1pk": f"APP#{call.app_id}#CALL",
        "gsi1sk": call.call_id,
        **_gsi2(call.status, call.scheduled_at, call.media_node, call.call_id),
    }


def _gsi2(status: CallStatus, scheduled_at: str | None, node: str | None, call_id: str) -> dict[str, str]:
    """gsi2 holds one of two mutually exclusive views of a call: the due-time index of
    scheduled calls (the local scheduler, AWS's safety net) or the live calls of a media node
    (the sweeper's view of a lost node)."""
    if status == CallStatus.SCHEDULED and scheduled_at:
        return {"gsi2pk": "SCHEDULED", "gsi2sk": f"{scheduled_at}#{call_id}"}
    if node and status in LIVE:
        return {"gsi2pk": f"NODECALLS#{node}", "gsi2sk": call_id}
    return {}


def event_item(event: CallEvent) -> dict[str, Any]:
    return {
        **event.model_dump(mode="json"),
        "pk": f"CALL#{event.call_id}",
        "sk": event_sk(event.sequence),
        "entity": "event",
    }



def call_from_item(item: dict[str, Any]) -> Call:
    return Call.model_validate(strip_keys(item))


def event_from_item(item: dict[str, Any]) -> CallEvent:
    return CallEvent.model_validate(strip_keys(item))


class DynamoCallRepository:
    """CallRepository on the main table."""

    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def create(self, creation: CallCreation) -> None:
        t = self.table
        items = [
            t.tx_put(call_item(creation.call), "attribute_not_exists(pk)"),
            t.tx_put(event_item(creation.event), "attribute_not_exists(pk)"),
        ]
        slot_index = -1
        if creation.takes_slot:
            slot_index = len(items)
            items.append(
                t.tx_update(
                    f"APP#{creation.call.app_id}",
                    "APP",
                    "SET active_calls = if_not_exists(active_calls, :zero) + :one",
                    {":zero": 0, ":one": 1, ":cap": creation.max_concurrent},
                    condition="attribute_exists(pk) AND "
                    "(attribute_not_exists(active_calls) OR active_calls < :cap)",
                )
            )
        idem_index = -1
        if creation.idempotency:
            idem_index = len(items)
            rec = creation.idempotency
            items.append(
                t.tx_put(
                    {
                        "pk": f"APP#{creation.call.app_id}",
                        "sk": f"IDEMP#{rec.key}",
                        "entity": "idempotency",
                        "request_hash": rec.request_hash,
                        "result_id": rec.result_id,
                        "expires_at": int(_now_s() + t.settings.idempotency_ttl_s),
                    },
                    "attribute_not_exists(pk)",
                )
            )
        if creation.session is not None:
            items.append(t.tx_put(session_item(creation.session), "attribute_not_exists(pk)"))
        try:
            t.transact(items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(exc)
            if 0 <= slot_index < len(codes) and codes[slot_index] == "ConditionalCheckFailed":
                if t.get(f"APP#{creation.call.app_id}", "APP") is None:  # not a full app: none
                    raise NotFound("the call's app does not exist", code="app_not_found",
                                   details={"app_id": creation.call.app_id}) from exc
                raise LimitExceeded(
                    "the app is at its concurrent-call cap",
                    code="concurrency_limit_exceeded",
                    details={"max_concurrent_calls": creation.max_concurrent},
                ) from exc
            if 0 <= idem_index < len(codes) and codes[idem_index] == "ConditionalCheckFailed":
                raise IdempotencyConflict(
                    "a request with this Idempotency-Key is being processed",
                    code="idempotency_in_progress",
                ) from exc
            raise Conflict("the call could not be created", details={"reasons": codes}) from exc

    def get(self, call_id: str) -> Call | None:
        item = self.table.get(*call_key(call_id))
        return call_from_item(item) if item else None

    def transition(
        self,
        call: Call,
        target: CallStatus,
        changes: dict[str, Any],
        event: CallEvent,
        extra_condition: dict[str, Any] | None = None,
    ) -> None:
        """Move `call` (as read) to `target`, append `event`; fails with StaleWrite if it moved."""
        t = self.table
        sets = ["#status = :to", "event_seq = :next"]
        values: dict[str, Any] = {
            ":to": target.value,
            ":from": call.status.value,
            ":seq": call.event_seq,
            ":next": event.sequence,
        }
        names = {"#status": "status"}
        removes: list[str] = []
        for i, (field, value) in enumerate(changes.items()):
            names[f"#f{i}"] = field
            if value is None:
                removes.append(f"#f{i}")
            else:
                sets.append(f"#f{i} = :v{i}")
                values[f":v{i}"] = value
        condition = "#status = :from AND event_seq = :seq"
        for i, (field, value) in enumerate((extra_condition or {}).items()):
            names[f"#c{i}"] = field
            values[f":c{i}"] = value
            condition += f" AND #c{i} = :c{i}"
        index = _gsi2(target, call.scheduled_at, changes.get("media_node", call.media_node), call.call_id)
        if index:
            sets += ["gsi2pk = :g2pk", "gsi2sk = :g2sk"]
            values[":g2pk"], values[":g2sk"] = index["gsi2pk"], index["gsi2sk"]
        else:
            removes += ["gsi2pk", "gsi2sk"]
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        pk, sk = call_key(call.call_id)
        items = [
            t.tx_update(pk, sk, update, values, names, condition),
            t.tx_put(event_item(event), "attribute_not_exists(pk)"),
        ]
        was_active, now_active = call.status in ACTIVE, target in ACTIVE
        if was_active != now_active:
            delta = 1 if now_active else -1
            items.append(
                t.tx_update(
                    f"APP#{call.app_id}",
                    "APP",
                    "SET active_calls = if_not_exists(active_calls, :zero) + :d",
                    {":zero": 0, ":d": delta},
                )
            )
        self._transact_or_stale(items)

    def append_event(self, call: Call, event: CallEvent,
                     changes: dict[str, Any] | None = None) -> None:
        """Append a non-status event (DTMF, playback, ...) at the next sequence; `changes`
        set (None: remove) fields of the call in the same transaction."""
        t = self.table
        pk, sk = call_key(call.call_id)
        sets = ["event_seq = :next"]
        values: dict[str, Any] = {":seq": call.event_seq, ":next": event.sequence}
        names: dict[str, str] = {}
        removes: list[str] = []
        for i, (field, value) in enumerate((changes or {}).items()):
            names[f"#f{i}"] = field
            if value is None:
                removes.append(f"#f{i}")
            else:
                sets.append(f"#f{i} = :v{i}")
                values[f":v{i}"] = value
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        items = [
            t.tx_update(pk, sk, update, values, names or None, condition="event_seq = :seq"),
            t.tx_put(event_item(event), "attribute_not_exists(pk)"),
        ]
        self._transact_or_stale(items)

    def _transact_or_stale(self, items: list[dict[str, Any]]) -> None:
        try:
            self.table.transact(items)
        except ClientError as exc:
            if error_code(exc) in ("TransactionCanceledException", "ConditionalCheckFailedException"):
                raise StaleWrite("the call changed concurrently") from exc
            raise

    def list_events(self, call_id: str) -> list[CallEvent]:
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :ev)", {":pk": f"CALL#{call_id}", ":ev": "EVENT#"}
        )
        return [event_from_item(i) for i in items]

    def list_calls(self, app_id: str, filt: CallFilter, limit: int, cursor: str | None) -> Page:
        low = ulid_floor(filt.start_ms) if filt.start_ms is not None else "0"
        # Both bounds carry the sort key's `call_` prefix (so does the cursor's call id).
        high = f"call_{ulid_ceiling(filt.end_ms)}" if filt.end_ms is not None else "call_~"
        before = _decode_cursor(cursor) if cursor else None
        if before:
            high = min(high, before)
        values: dict[str, Any] = {":pk": f"APP#{app_id}#CALL", ":lo": f"call_{low}", ":hi": high}
        names: dict[str, str] = {}
        filters: list[str] = []
        if filt.status:
            names["#status"] = "status"
            values[":status"] = filt.status.value
            filters.append("#status = :status")
        if filt.agent_id:
            values[":agent"] = filt.agent_id
            filters.append("agent_id = :agent")
        if filt.direction:
            values[":dir"] = filt.direction
            filters.append("direction = :dir")
        out: list[Call] = []
        more = False
        for item in self.table.query(
            "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
            values,
            index="gsi1",
            forward=False,
            filter_expression=" AND ".join(filters) or None,
            names=names or None,
            page_size=max(limit, 25),
        ):
            if item["call_id"] == before:
                continue  # BETWEEN is inclusive; the cursor's own call was on the last page
            if len(out) == limit:
                more = True
                break
            out.append(call_from_item(item))
        next_cursor = _encode_cursor(out[-1].call_id) if more and out else None
        return Page(items=out, next_cursor=next_cursor)

    def due_scheduled(self, until_iso: str, limit: int = 100) -> list[str]:
        """Ids of scheduled calls due at or before `until_iso`."""
        items = self.table.query(
            "gsi2pk = :pk AND gsi2sk <= :until",
            {":pk": "SCHEDULED", ":until": f"{until_iso}#~"},
            index="gsi2",
        )
        return [i["call_id"] for _, i in zip(range(limit), items, strict=False)]

    def get_idempotency(self, app_id: str, key: str) -> IdempotencyRecord | None:
        item = self.table.get(f"APP#{app_id}", f"IDEMP#{key}")
        if not item or int(item.get("expires_at", 0)) < _now_s():
            return None
        return IdempotencyRecord(key=key, request_hash=item["request_hash"], result_id=item["result_id"])


def _now_s() -> float:
    return time.time()


def _encode_cursor(call_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": call_id}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        pad = "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(cursor + pad))["before"]
        if not isinstance(value, str) or not value.startswith("call_"):
            raise ValueError(value)
        return value
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed("cursor is not valid", code="invalid_cursor") from exc
