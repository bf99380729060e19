"""The SIP transport's audio side: RTP sessions on real UDP sockets, paced by one shared 20 ms
clock per port pool, with G.711, RFC 4733 DTMF, jitter buffering, RTCP and a tap on each
direction (the call's recording is built from them).

Usage from the SIP layer::

    pool = RtpPortPool("0.0.0.0", 20000, 30000)
    session = await pool.open_session()          # session.local_port goes into the SDP
    session.set_remote(host, port, payload_type=0, dtmf_payload_type=101)
    session.on_dtmf = lambda digit: ...
    await session.speak("Hello")
"""

from .control import GatherResult, gather
from .pool import PortsExhausted, RtpPortPool
from .session import DIRECTIONS, RtpSession

__all__ = [
    "DIRECTIONS",
    "GatherResult",
    "PortsExhausted",
    "RtpPortPool",
    "RtpSession",
    "gather",
]
