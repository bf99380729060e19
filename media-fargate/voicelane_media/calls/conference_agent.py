"""An AI agent as a conference participant (``POST /v1/conferences/{id}/participants`` with
``agent_id``).

The agent gets a call of its own, a leg of the conference's first participant (``parent_call_id``,
``leg_purpose`` ``conference_agent``, channel ``agent``, ``to`` ``agent:<agent_id>``), so it
has what every agent call has: ``call.agent.*`` events, a transcript, metrics, a recording if
its spec asks for one. Its transport is a seat (``transports/seat.py``, plugged in by the node):
an in-process leg whose far end is the room. The room mixes the seat like any other leg: the
agent hears everyone but itself and everyone hears the agent; mute, hold and kick act on it as
on a phone. The seat joins the room before the agent starts, so its greeting is heard whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.errors import LimitExceeded, NotFound

from voicelane_media.transports.base import Transport

from .bridge import MixableLeg
from .call import LiveCall
from .legs import LegHost, own_number, run_to_end

log = logging.getLogger(__name__)
PURPOSE = "conference_agent"


class Seat(Transport, Protocol):
    """A transport whose far end is a room: ``room_side`` is what the room joins."""

    @property
    def room_side(self) -> MixableLeg: ...


SeatFactory = Callable[[], Seat]


@dataclass(frozen=True)
class SeatedAgent:
    """An agent's call with its seat taken, not yet joined nor started."""

    live: LiveCall
    room_side: MixableLeg


class AgentSeating:
    """Seats agents for the conferences of one node's calls (``CallManager``)."""

    def __init__(self, host: LegHost) -> None:
        self.host = host
        self.open_seat: SeatFactory | None = None  # the node plugs ``transports.seat.RoomSeat``

    async def take(self, parent: LiveCall, agent_id: str) -> SeatedAgent | None:
        """The agent's call record and its seat (None: the app is at its cap, or no seats)."""
        if self.open_seat is None:
            log.warning("no conference seats on this node: agent %s not seated", agent_id)
            return None
        try:
            call = await self.host.control.create_leg(parent.call, f"agent:{agent_id}",
                                                      own_number(parent.call), PURPOSE,
                                                      agent_id=agent_id)
        except (LimitExceeded, NotFound) as exc:
            log.info("agent %s not seated for %s: %s", agent_id, parent.call_id, exc)
            return None
        seat = self.open_seat()
        live = self.host.adopt(call, seat)
        # A seat has no caller to hand over: its transfers fail `not_supported` (no dialling).
        live.transfer_hook = live.warm_transfer_hook = None
        self.host.spawn_max_duration(live)
        await seat.dial()  # nothing rings: the seat's clock starts
        return SeatedAgent(live, seat.room_side)

    async def start(self, seated: SeatedAgent) -> None:
        """In the room: the call is answered, which starts its agent; then to its end."""
        await self.host.answered(seated.live)
        self.host.spawn(run_to_end(self.host, seated.live))
        if seated.live.agent_task is None:  # the agent was deleted since the API checked it
            log.warning("agent of seat %s is gone: hung up", seated.live.call_id)
            await seated.live.hangup("agent_not_found")

    async def refuse(self, seated: SeatedAgent, reason: str) -> None:
        """The room would not take it (ended or full meanwhile): the call ends unanswered."""
        await seated.live.finish(CallStatus.FAILED, reason, None)
