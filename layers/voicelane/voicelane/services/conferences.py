"""Conferences: the API's create/read/list and the checks before a live command reaches the
conference's media node, and the node's own state changes (join, leave, mute, hold, end).

Every change is a conditional write on the conference record (its ``event_seq`` as read) with
its event in the same transaction, retried on a lost race like a call's lifecycle. The room
itself (the mix, beeps, recording) lives on the media node (``voicelane_media.conferences``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from voicelane.contracts.conferences import ConferenceView, CreateConferenceRequest
from voicelane.domain.call import Channel
from voicelane.domain.conference import (
    Conference,
    ConferenceEvent,
    ConferenceSettings,
    ConferenceStatus,
    ConferenceTrack,
    Participant,
    ParticipantStatus,
)
from voicelane.domain.destinations import check_destination
from voicelane.domain.errors import Conflict, NotFound, StaleWrite, ValidationFailed
from voicelane.domain.ids import new_id
from voicelane.domain.models import App, Call
from voicelane.media_gateway import RecordingMetadata
from voicelane.ports import AgentRepository
from voicelane.services.clock import now_iso

MAX_RETRIES = 5
PARTICIPANT_ACTIONS = ("mute", "unmute", "hold", "unhold", "kick")


class ConferenceRepository(Protocol):
    def create(self, conference: Conference, event: ConferenceEvent) -> None:
        """Conflict ``conference_name_taken`` when ``name_claimed`` and the name is held."""
        ...

    def get(self, conference_id: str) -> Conference | None: ...
    def by_name(self, app_id: str, name: str) -> Conference | None: ...
    def apply(self, before: Conference, after: Conference, event: ConferenceEvent,
              participant: Participant | None = None, new_participant: bool = False) -> None: ...
    def participant(self, conference_id: str, call_id: str) -> Participant | None: ...
    def participants(self, conference_id: str) -> list[Participant]: ...
    def events(self, conference_id: str) -> list[ConferenceEvent]: ...
    def list_page(self, app_id: str, limit: int,
                  cursor: str | None) -> tuple[list[Conference], str | None]: ...
    def active_on_node(self, node_id: str) -> list[Conference]: ...
    def put_recording(self, meta: RecordingMetadata) -> None: ...
    def get_recording(self, conference_id: str) -> RecordingMetadata | None: ...
    def put_track(self, track: ConferenceTrack) -> None: ...
    def tracks(self, conference_id: str) -> list[ConferenceTrack]: ...


class ConferenceNodes(Protocol):
    """Commands to the media node a conference lives on (``adapters/media_http.py``)."""

    def conference_command(self, conference: Conference, action: str,
                           body: dict[str, Any]) -> dict[str, Any]: ...


def make_event(conference: Conference, event_type: str,
               details: dict[str, Any] | None = None) -> ConferenceEvent:
    """The next event of ``conference`` (as it is after the change)."""
    return ConferenceEvent(
        event_id=new_id("evt"), conference_id=conference.conference_id,
        app_id=conference.app_id, type=event_type, sequence=conference.event_seq + 1,
        created_at=now_iso(), data=ConferenceView.of(conference).to_json(),
        details=details or {})


Change = Callable[[Conference, Participant | None],
                  tuple[Conference, Participant | None, str, dict[str, Any]]]


class ConferenceService:
    def __init__(self, repo: ConferenceRepository, nodes: ConferenceNodes | None = None,
                 agents: AgentRepository | None = None) -> None:
        self.repo = repo
        self.nodes = nodes
        self.agents = agents

    # -- the API --------------------------------------------------------------------------

    def create(self, app: App, body: CreateConferenceRequest) -> Conference:
        """A new idle conference; 409 ``conference_name_taken`` while another conference of
        the app with this name has not ended."""
        try:
            return self._create(app.app_id, body.name, body, body.client_state)
        except Conflict as exc:
            holder = self.repo.by_name(app.app_id, body.name)
            if holder is not None:
                exc.details = {"conference_id": holder.conference_id}
            raise

    def _create(self, app_id: str, name: str, settings: ConferenceSettings,
                client_state: str | None) -> Conference:
        conference = Conference(conference_id=new_id("conf"), app_id=app_id, name=name,
                                created_at=now_iso(), client_state=client_state,
                                name_claimed=True, **settings.settings())
        event = make_event(conference, "conference.created")
        conference = conference.model_copy(update={"event_seq": event.sequence})
        self.repo.create(conference, event)
        return conference

    def open_named(self, app_id: str, name: str,
                   settings: ConferenceSettings) -> tuple[Conference, bool]:
        """The app's conference called ``name`` that has not ended, or a new one with
        ``settings`` (True: created here). Two callers at once create one: the name is a
        conditional write, and the one that loses it reads the winner's conference."""
        for _ in range(MAX_RETRIES):
            found = self.repo.by_name(app_id, name)
            if found is not None and found.status != ConferenceStatus.ENDED:
                return found, False
            try:
                return self._create(app_id, name, settings, None), True
            except Conflict as exc:
                if exc.code != "conference_name_taken":
                    raise
        raise Conflict("the conference is changing too fast; retry", code="concurrent_update")

    def get(self, app: App, conference_id: str) -> Conference:
        conference = self.repo.get(conference_id)
        if conference is None or conference.app_id != app.app_id:
            raise NotFound("conference not found", code="conference_not_found",
                           details={"conference_id": conference_id})
        return conference

    def list_page(self, app: App, limit: int,
             cursor: str | None) -> tuple[list[Conference], str | None]:
        return self.repo.list_page(app.app_id, limit, cursor)

    def participants(self, app: App, conference_id: str) -> list[Participant]:
        return self.repo.participants(self.get(app, conference_id).conference_id)

    def events(self, app: App, conference_id: str) -> list[ConferenceEvent]:
        return self.repo.events(self.get(app, conference_id).conference_id)

    def check_join(self, app: App, call: Call, conference_id: str) -> Conference:
        """Why ``call`` may not join now (the node checks again in its write)."""
        conference = self.get(app, conference_id)
        check_joinable(conference, call.media_node)
        return conference

    def dial(self, app: App, conference_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Dial a participant from the conference's node (it must be active there), or seat
        one of the app's agents there (``agent_id``: 422 ``agent_not_found`` otherwise)."""
        self.get(app, conference_id)  # another app's conference is not found, first
        agent_id = body.get("agent_id")
        if agent_id is not None and (self.agents is None
                                     or self.agents.get(app.app_id, str(agent_id)) is None):
            raise ValidationFailed("agent_id is not an agent of this app",
                                   code="agent_not_found", details={"agent_id": agent_id})
        conference = self._active(app, conference_id)
        if agent_id is None:
            check_destination(str(body.get("to")), app.destination_allow_list, None)
        if conference.participant_count >= conference.max_participants:
            raise Conflict("the conference is full", code="conference_full",
                           details={"max_participants": conference.max_participants})
        return self._node(conference, "dial", body)

    def participant_action(self, app: App, conference_id: str, call_id: str, action: str,
                           body: dict[str, Any]) -> dict[str, Any]:
        if action not in PARTICIPANT_ACTIONS:
            raise NotFound(f"unknown action {action!r}", code="unknown_action",
                           details={"actions": list(PARTICIPANT_ACTIONS)})
        conference = self.get(app, conference_id)
        participant = self.repo.participant(conference.conference_id, call_id)
        if participant is None:
            raise NotFound("no such participant", code="participant_not_found",
                           details={"call_id": call_id})
        if participant.status == ParticipantStatus.LEFT:
            raise Conflict("the participant has left", code="participant_left")
        conference = self._active(app, conference_id)
        return self._node(conference, action, {**body, "call_id": call_id})

    def end_by_api(self, app: App, conference_id: str) -> Conference:
        """End the conference: every participant is hung up by its node (idle: at once)."""
        conference = self.get(app, conference_id)
        if conference.status == ConferenceStatus.ENDED:
            raise Conflict("the conference has ended", code="conference_ended")
        if conference.status == ConferenceStatus.IDLE:
            return self.end(conference_id, "ended_by_api")
        self._node(conference, "end", {})
        return conference

    def _active(self, app: App, conference_id: str) -> Conference:
        conference = self.get(app, conference_id)
        if conference.status == ConferenceStatus.ENDED:
            raise Conflict("the conference has ended", code="conference_ended")
        if conference.status == ConferenceStatus.IDLE or not conference.media_node:
            raise Conflict("nobody is in the conference yet: join a live call first "
                           "(POST /v1/calls/{id}/actions/join_conference)",
                           code="conference_not_active")
        return conference

    def _node(self, conference: Conference, action: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.nodes is None:  # pragma: no cover - wiring error
            raise RuntimeError("no media control wired")
        return self.nodes.conference_command(conference, action, body)

    # -- the media node (through its gateway) ---------------------------------------------

    def _change(self, conference_id: str, call_id: str | None, change: Change,
                new_participant: bool = False) -> tuple[Conference, Participant | None]:
        for _ in range(MAX_RETRIES):
            before = self.repo.get(conference_id)
            if before is None:
                raise NotFound("conference not found", code="conference_not_found")
            participant = (self.repo.participant(conference_id, call_id)
                           if call_id is not None else None)
            after, participant, event_type, details = change(before, participant)
            event = make_event(after, event_type, details)
            after = after.model_copy(update={"event_seq": event.sequence})
            try:
                self.repo.apply(before, after, event, participant, new_participant)
                return after, participant
            except StaleWrite:
                continue
        raise Conflict("the conference is changing too fast; retry", code="concurrent_update")

    def join(self, conference_id: str, call: Call, node_id: str, *, moderator: bool,
             muted: bool) -> tuple[Conference, Participant]:
        """``call`` joins: the conference's node becomes ``node_id`` if it had none."""

        def change(c: Conference, existing: Participant | None) -> tuple[
                Conference, Participant | None, str, dict[str, Any]]:
            if c.app_id != call.app_id:
                raise NotFound("conference not found", code="conference_not_found")
            check_joinable(c, node_id)
            if existing is not None:
                raise Conflict("the call has already joined the conference",
                               code="already_in_conference")
            now = now_iso()
            seat = call.agent_id if call.to_channel == Channel.AGENT else None
            joined = Participant(conference_id=c.conference_id, call_id=call.call_id,
                                 app_id=c.app_id, moderator=moderator, muted=muted,
                                 joined_at=now, agent_id=seat)
            after = c.model_copy(update={
                "status": ConferenceStatus.ACTIVE, "media_node": node_id,
                "started_at": c.started_at or now,
                "participant_count": c.participant_count + 1,
                "participants_total": c.participants_total + 1})
            return after, joined, "conference.participant.joined", _who(joined)

        conference, participant = self._change(conference_id, call.call_id, change,
                                               new_participant=True)
        assert participant is not None
        return conference, participant

    def leave(self, conference_id: str, call_id: str, reason: str) -> Conference | None:
        """The participant left (hung up, kicked, the conference ended); None if it had."""

        def change(c: Conference, p: Participant | None) -> tuple[
                Conference, Participant | None, str, dict[str, Any]]:
            if p is None or p.status == ParticipantStatus.LEFT:
                raise _Unchanged
            left = p.model_copy(update={"status": ParticipantStatus.LEFT,
                                        "left_at": now_iso(), "left_reason": reason})
            after = c.model_copy(update={"participant_count": max(0, c.participant_count - 1)})
            return after, left, "conference.participant.left", {**_who(left), "reason": reason}

        try:
            return self._change(conference_id, call_id, change)[0]
        except _Unchanged:
            return None

    def set_flag(self, conference_id: str, call_id: str, flag: str,
                 value: bool) -> Conference | None:
        """Mute/unmute or hold/unhold (``flag`` muted or held); None when already so."""
        names = {("muted", True): "muted", ("muted", False): "unmuted",
                 ("held", True): "held", ("held", False): "unheld"}

        def change(c: Conference, p: Participant | None) -> tuple[
                Conference, Participant | None, str, dict[str, Any]]:
            if p is None or p.status == ParticipantStatus.LEFT or getattr(p, flag) == value:
                raise _Unchanged
            updated = p.model_copy(update={flag: value})
            return c, updated, f"conference.participant.{names[(flag, value)]}", _who(updated)

        try:
            return self._change(conference_id, call_id, change)[0]
        except _Unchanged:
            return None

    def end(self, conference_id: str, reason: str) -> Conference:
        """The conference ends (once: a second end returns it as it is)."""

        def change(c: Conference, _: Participant | None) -> tuple[
                Conference, Participant | None, str, dict[str, Any]]:
            if c.status == ConferenceStatus.ENDED:
                raise _Unchanged
            after = c.model_copy(update={"status": ConferenceStatus.ENDED,
                                         "ended_at": now_iso(), "end_reason": reason})
            return after, None, "conference.ended", {"reason": reason}

        try:
            return self._change(conference_id, None, change)[0]
        except _Unchanged:
            conference = self.repo.get(conference_id)
            assert conference is not None
            return conference

    def end_lost(self, node_id: str) -> list[str]:
        """The sweeper found ``node_id`` silent: its conferences end with every participant
        left (``media_node_lost``, as the calls themselves end)."""
        ended = []
        for conference in self.repo.active_on_node(node_id):
            for p in self.repo.participants(conference.conference_id):
                if p.status == ParticipantStatus.JOINED:
                    self.leave(conference.conference_id, p.call_id, "media_node_lost")
            self.end(conference.conference_id, "media_node_lost")
            ended.append(conference.conference_id)
        return ended

    def recording_saved(self, conference_id: str, meta: RecordingMetadata) -> None:
        """The mixed recording's record (GET .../recording) and its event."""
        self.repo.put_recording(meta)
        self.record_event(conference_id, "conference.recording.saved", {
            "kind": "mix", "s3_key": meta.s3_key, "duration_s": round(meta.duration_s, 3),
            "channels": meta.channels, "format": meta.format,
            "sample_rate": meta.sample_rate})

    def track_saved(self, track: ConferenceTrack) -> None:
        """One participant's track (listed with GET .../recording) and its event."""
        self.repo.put_track(track)
        details = {"kind": "track", "call_id": track.call_id, "s3_key": track.s3_key,
                   "duration_s": round(track.duration_s, 3),
                   "offset_s": round(track.offset_s, 3), "channels": track.channels,
                   "format": track.format, "sample_rate": track.sample_rate}
        if track.agent_id:
            details["agent_id"] = track.agent_id
        self.record_event(track.conference_id, "conference.recording.saved", details)

    def tracks(self, app: App, conference_id: str) -> list[ConferenceTrack]:
        return self.repo.tracks(self.get(app, conference_id).conference_id)

    def recording(self, app: App, conference_id: str) -> RecordingMetadata:
        conference = self.get(app, conference_id)
        meta = self.repo.get_recording(conference.conference_id)
        if meta is None:
            raise NotFound("the conference has no recording yet", code="recording_not_found")
        return meta

    def record_event(self, conference_id: str, event_type: str,
                     details: dict[str, Any]) -> Conference:
        """A non-state event of the conference (``conference.recording.saved``)."""
        return self._change(conference_id, None,
                            lambda c, _: (c, None, event_type, details))[0]


class _Unchanged(Exception):
    """Nothing to write: the change had already happened."""


def _who(p: Participant) -> dict[str, Any]:
    who = {"call_id": p.call_id, "moderator": p.moderator, "muted": p.muted, "held": p.held}
    return {**who, "agent_id": p.agent_id} if p.agent_id else who


def check_joinable(conference: Conference, node_id: str | None) -> None:
    """A call on ``node_id`` may join ``conference`` now (409 codes otherwise)."""
    if conference.status == ConferenceStatus.ENDED:
        raise Conflict("the conference has ended", code="conference_ended")
    if conference.media_node and node_id != conference.media_node:
        raise Conflict("the conference lives on another media node; a call joins on the "
                       "node it is on (dial participants into the conference instead)",
                       code="conference_on_other_node",
                       details={"conference_node": conference.media_node})
    if conference.participant_count >= conference.max_participants:
        raise Conflict("the conference is full", code="conference_full",
                       details={"max_participants": conference.max_participants})
