"""Conferences, their participants and timelines on the main table.

Layout: ``CONF#{id}`` holds the record (sk ``CONF``), one item per participant (sk
``PART#{call_id}``) and the events (sk ``EVENT#{seq}``, entity ``conference_event``: the
event router routes them like call events). Every change is one transaction: the record's
update conditioned on its ``event_seq`` as read (so concurrent writers serialize), the
participant item, and the event.

A conference that is not ended holds its name in its app: ``CONFNAME#{app_id}#{name}`` (sk
``CONFNAME``) names it, put with the conference in its creating transaction on the condition
that no other holds it, and deleted in the transaction that ends it. A routing rule finds the
conference by name with two key reads, and two first callers racing create one.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from typing import Any

from botocore.exceptions import ClientError

from voicelane.adapters.dynamo.codec import cancellation_codes, error_code, strip_keys
from voicelane.adapters.dynamo.table import Table
from voicelane.domain.conference import (
    Conference,
    ConferenceEvent,
    ConferenceStatus,
    ConferenceTrack,
    Participant,
)
from voicelane.domain.errors import Conflict, StaleWrite, ValidationFailed
from voicelane.media_gateway import RecordingMetadata


def conference_key(conference_id: str) -> tuple[str, str]:
    return f"CONF#{conference_id}", "CONF"


def name_key(app_id: str, name: str) -> tuple[str, str]:
    return f"CONFNAME#{app_id}#{name}", "CONFNAME"


def conference_item(conference: Conference) -> dict[str, Any]:
    pk, sk = conference_key(conference.conference_id)
    return {**conference.model_dump(mode="json", exclude_none=True), "pk": pk, "sk": sk,
            "entity": "conference", "gsi1pk": f"APP#{conference.app_id}#CONF",
            "gsi1sk": conference.conference_id}


def _node_index(conference: Conference) -> dict[str, str]:
    """gsi2 lists a node's active conferences (the sweeper's view of a lost node)."""
    if conference.status == ConferenceStatus.ACTIVE and conference.media_node:
        return {"gsi2pk": f"NODECONFS#{conference.media_node}",
                "gsi2sk": conference.conference_id}
    return {}


def participant_item(participant: Participant) -> dict[str, Any]:
    return {**participant.model_dump(mode="json", exclude_none=True),
            "pk": f"CONF#{participant.conference_id}", "sk": f"PART#{participant.call_id}",
            "entity": "conference_participant"}


def conference_event_item(event: ConferenceEvent) -> dict[str, Any]:
    return {**event.model_dump(mode="json"), "pk": f"CONF#{event.conference_id}",
            "sk": f"EVENT#{event.sequence:010d}", "entity": "conference_event"}


class DynamoConferenceRepository:
    """ConferenceRepository on the main table."""

    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def create(self, conference: Conference, event: ConferenceEvent) -> None:
        """The conference, its first event and (``name_claimed``) its name, at once; Conflict
        ``conference_name_taken`` when another conference of the app holds the name."""
        t = self.table
        items = [t.tx_put(conference_item(conference), "attribute_not_exists(pk)"),
                 t.tx_put(conference_event_item(event), "attribute_not_exists(pk)")]
        if conference.name_claimed:
            pk, sk = name_key(conference.app_id, conference.name)
            items.append(t.tx_put({"pk": pk, "sk": sk, "entity": "conference_name",
                                   "app_id": conference.app_id,
                                   "conference_id": conference.conference_id},
                                  "attribute_not_exists(pk)"))
        try:
            t.transact(items)
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if conference.name_claimed and len(codes) == 3 and \
                    codes[2] == "ConditionalCheckFailed":
                raise Conflict("another conference of the app that has not ended has this "
                               "name", code="conference_name_taken") from exc
            raise

    def by_name(self, app_id: str, name: str) -> Conference | None:
        """The app's conference that holds ``name`` (not ended), if any."""
        claim = self.table.get(*name_key(app_id, name))
        return self.get(str(claim["conference_id"])) if claim else None

    def get(self, conference_id: str) -> Conference | None:
        item = self.table.get(*conference_key(conference_id))
        return Conference.model_validate(strip_keys(item)) if item else None

    def apply(self, before: Conference, after: Conference, event: ConferenceEvent,
              participant: Participant | None = None, new_participant: bool = False) -> None:
        """Write ``after`` over ``before`` (StaleWrite when the record moved since it was
        read, or a new participant is already there), with ``participant`` and ``event``."""
        t = self.table
        changed = {k: v for k, v in after.model_dump(mode="json").items()
                   if v != before.model_dump(mode="json").get(k) and k != "event_seq"}
        names = {f"#f{i}": k for i, k in enumerate(changed)}
        values: dict[str, Any] = {":seq": before.event_seq, ":next": event.sequence}
        sets, removes = ["event_seq = :next"], []
        for i, value in enumerate(changed.values()):
            if value is None:
                removes.append(f"#f{i}")
            else:
                sets.append(f"#f{i} = :v{i}")
                values[f":v{i}"] = value
        index = _node_index(after)
        if index:
            sets += ["gsi2pk = :g2pk", "gsi2sk = :g2sk"]
            values[":g2pk"], values[":g2sk"] = index["gsi2pk"], index["gsi2sk"]
        elif _node_index(before):
            removes += ["gsi2pk", "gsi2sk"]
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        pk, sk = conference_key(before.conference_id)
        items = [t.tx_update(pk, sk, update, values, names or None, "event_seq = :seq"),
                 t.tx_put(conference_event_item(event), "attribute_not_exists(pk)")]
        if participant is not None:
            items.append(t.tx_put(participant_item(participant),
                                  "attribute_not_exists(pk)" if new_participant else None))
        if before.name_claimed and before.status != ConferenceStatus.ENDED \
                and after.status == ConferenceStatus.ENDED:  # the name is free again
            items.append(t.tx_delete(*name_key(before.app_id, before.name),
                                     "conference_id = :cid", {":cid": before.conference_id}))
        try:
            t.transact(items)
        except ClientError as exc:
            if error_code(exc) in ("TransactionCanceledException",
                                   "ConditionalCheckFailedException"):
                raise StaleWrite("the conference changed concurrently") from exc
            raise

    def participant(self, conference_id: str, call_id: str) -> Participant | None:
        item = self.table.get(f"CONF#{conference_id}", f"PART#{call_id}")
        return Participant.model_validate(strip_keys(item)) if item else None

    def participants(self, conference_id: str) -> list[Participant]:
        items = self.table.query("pk = :pk AND begins_with(sk, :p)",
                                 {":pk": f"CONF#{conference_id}", ":p": "PART#"})
        found = [Participant.model_validate(strip_keys(i)) for i in items]
        return sorted(found, key=lambda p: (p.joined_at, p.call_id))

    def events(self, conference_id: str) -> list[ConferenceEvent]:
        items = self.table.query("pk = :pk AND begins_with(sk, :e)",
                                 {":pk": f"CONF#{conference_id}", ":e": "EVENT#"})
        return [ConferenceEvent.model_validate(strip_keys(i)) for i in items]

    def active_on_node(self, node_id: str) -> list[Conference]:
        items = self.table.query("gsi2pk = :pk", {":pk": f"NODECONFS#{node_id}"}, index="gsi2")
        return [Conference.model_validate(strip_keys(i)) for i in items]

    def put_recording(self, meta: RecordingMetadata) -> None:
        self.table.put({"pk": f"CONF#{meta.call_id}", "sk": "RECORDING",
                        "entity": "conference_recording", **asdict(meta),
                        "duration_s": round(meta.duration_s, 3)})

    def put_track(self, track: ConferenceTrack) -> None:
        self.table.put({**track.model_dump(mode="json", exclude_none=True),
                        "pk": f"CONF#{track.conference_id}", "sk": f"TRACK#{track.call_id}",
                        "entity": "conference_track",
                        "duration_s": round(track.duration_s, 3),
                        "offset_s": round(track.offset_s, 3)})

    def tracks(self, conference_id: str) -> list[ConferenceTrack]:
        items = self.table.query("pk = :pk AND begins_with(sk, :t)",
                                 {":pk": f"CONF#{conference_id}", ":t": "TRACK#"})
        found = [ConferenceTrack.model_validate(strip_keys(i)) for i in items]
        return sorted(found, key=lambda t: (t.offset_s, t.call_id))

    def get_recording(self, conference_id: str) -> RecordingMetadata | None:
        item = self.table.get(f"CONF#{conference_id}", "RECORDING")
        return RecordingMetadata(**strip_keys(item)) if item else None

    def list_page(self, app_id: str, limit: int, cursor: str | None) -> tuple[list[Conference],
                                                                         str | None]:
        values: dict[str, Any] = {":pk": f"APP#{app_id}#CONF"}
        condition = "gsi1pk = :pk"
        if cursor:
            values[":before"] = _decode(cursor)
            condition += " AND gsi1sk < :before"
        out: list[Conference] = []
        for item in self.table.query(condition, values, index="gsi1", forward=False,
                                     page_size=limit + 1):
            if len(out) == limit:
                return out, _encode(out[-1].conference_id)
            out.append(Conference.model_validate(strip_keys(item)))
        return out, None


def _encode(conference_id: str) -> str:
    raw = json.dumps({"before": conference_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["before"]
        if not isinstance(value, str) or not value.startswith("conf_"):
            raise ValueError(value)
        return value
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed("cursor is not valid", code="invalid_cursor") from exc
