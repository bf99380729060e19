"""Media node registry: registration, heartbeats, and the sweeper that ends the calls (and
conferences) of a node whose heartbeat stopped (end_reason `media_node_lost`)."""

from __future__ import annotations

import time
from typing import Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.errors import Conflict, IllegalTransition
from voicelane.domain.models import Call, MediaNode
from voicelane.services.clock import now_iso
from voicelane.services.lifecycle import CallLifecycle

HEARTBEAT_INTERVAL_S = 10
# Two missed heartbeats: the sweeper (every 15 s) then ends the node's calls within 60 s.
HEARTBEAT_TIMEOUT_S = 25


class NodeRepository(Protocol):
    def put(self, node: MediaNode) -> None: ...
    def get(self, node_id: str) -> MediaNode | None: ...
    def all_nodes(self) -> list[MediaNode]: ...
    def delete(self, node_id: str) -> None: ...
    def live_calls(self, node_id: str) -> list[Call]: ...


class LostConferences(Protocol):
    def end_lost(self, node_id: str) -> list[str]:
        """End the conferences that lived on a lost node (services/conferences.py)."""
        ...


class NodeService:
    def __init__(self, nodes: NodeRepository, lifecycle: CallLifecycle,
                 conferences: LostConferences | None = None) -> None:
        self.nodes = nodes
        self.lifecycle = lifecycle
        self.conferences = conferences

    def get(self, node_id: str) -> MediaNode | None:
        """A registered node (its SIP address, its internal URL), if it is registered."""
        return self.nodes.get(node_id)

    def register(self, node_id: str, internal_url: str, capacity: int,
                 sip_address: str | None = None) -> MediaNode:
        node = MediaNode(node_id=node_id, internal_url=internal_url, capacity=capacity,
                         sip_address=sip_address, started_at=now_iso(), heartbeat_at=time.time())
        self.nodes.put(node)
        return node

    def heartbeat(self, node: MediaNode, live_calls: int, status: str = "active") -> MediaNode:
        updated = node.model_copy(
            update={"live_calls": live_calls, "status": status, "heartbeat_at": time.time()}
        )
        self.nodes.put(updated)
        return updated

    def deregister(self, node_id: str) -> None:
        self.nodes.delete(node_id)

    def sweep(self, now: float | None = None) -> list[str]:
        """End every live call of every node silent for longer than the timeout."""
        t = time.time() if now is None else now
        ended: list[str] = []
        for node in self.nodes.all_nodes():
            if t - node.heartbeat_at <= HEARTBEAT_TIMEOUT_S:
                continue
            for call in self.nodes.live_calls(node.node_id):
                if self._end_lost(call):
                    ended.append(call.call_id)
            if self.conferences is not None:  # their rooms died with the node
                self.conferences.end_lost(node.node_id)
            if not self.nodes.live_calls(node.node_id):
                self.nodes.delete(node.node_id)
        return ended

    def _end_lost(self, call: Call) -> bool:
        answered = call.status == CallStatus.IN_PROGRESS
        target = CallStatus.COMPLETED if answered else CallStatus.FAILED
        changes: dict[str, object] = {"end_reason": "media_node_lost", "ended_at": now_iso()}
        try:
            self.lifecycle.transition(call.call_id, target, changes, {"media_node": call.media_node})
        except (IllegalTransition, Conflict):
            return False  # it ended meanwhile
        return True
