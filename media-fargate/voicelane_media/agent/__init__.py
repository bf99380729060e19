"""The AI voice agent loop of the media plane (transport-agnostic).

Plug a transport in by implementing `MediaLeg`; run an agent with `AgentSession`.
"""

from voicelane_media.agent.leg import InMemoryLeg, MediaLeg
from voicelane_media.agent.providers import Engines
from voicelane_media.agent.session import AgentOutcome, AgentSession
from voicelane_media.agent.settings import LoopSettings

__all__ = ["AgentOutcome", "AgentSession", "Engines", "InMemoryLeg", "LoopSettings", "MediaLeg"]
