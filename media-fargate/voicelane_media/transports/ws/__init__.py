"""WebSocket media streams: one pure serializer per dialect (twilio, telnyx, plivo, ours).

:func:`dialect_for` picks the dialect of a session's ``connection_type``; the transport
(``transport.py``, over ``transports/paced_media.py``'s playout and agent leg) and the node's public
endpoint (``endpoint.py``), written above these modules, own the socket.
"""

from __future__ import annotations

from .frames import Dialect
from .plivo import PlivoDialect
from .telnyx import TelnyxDialect
from .twilio import TwilioDialect
from .websocket import SAMPLE_RATES, WebSocketDialect

__all__ = ["Dialect", "dialect_for"]


def dialect_for(connection_type: str, sample_rate: int | None) -> Dialect:
    """A fresh dialect for one connection (Telnyx and Plivo learn the codec from ``start``).

    ``sample_rate`` is the session's rate: required to be one of 8/16/24/48 kHz for ours
    (16 kHz when None); for a provider it may only be None or 8000 (the provider's start says
    the rest). A bad pair is a configuration error: ValueError.
    """
    if connection_type == "websocket":
        rate = 16000 if sample_rate is None else sample_rate
        if rate not in SAMPLE_RATES:
            raise ValueError(f"websocket sample_rate must be one of {SAMPLE_RATES}")
        return WebSocketDialect(rate)
    dialects: dict[str, type[TwilioDialect | TelnyxDialect | PlivoDialect]] = {
        "twilio": TwilioDialect, "telnyx": TelnyxDialect, "plivo": PlivoDialect}
    cls = dialects.get(connection_type)
    if cls is None:
        raise ValueError(f"no WebSocket dialect for connection_type {connection_type!r}")
    if sample_rate not in (None, 8000):
        raise ValueError(f"{connection_type} streams take their rate from the provider's start")
    return cls()
