"""Test-only: a Twilio-shaped dialect (both sides) until the real serializers land."""

from __future__ import annotations

import base64
import json
from typing import Any

from voicelane_media.transports.ws._pending import (
    StreamConnected,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamMessage,
    StreamProtocolError,
    StreamStart,
    StreamStop,
)


class FakeTwilio:
    """Caller side of Twilio Media Streams: JSON text, base64 mu-law at 8 kHz."""

    name = "twilio"
    binary_media = False

    def __init__(self) -> None:
        self.encoding: Any = "pcmu"
        self.sample_rate = 8000

    def parse(self, message: str | bytes) -> StreamMessage | None:
        if not isinstance(message, str):
            raise StreamProtocolError("binary_not_expected", "text only")
        if len(message) > 256 * 1024:
            raise StreamProtocolError("frame_too_large", "too large")
        try:
            msg = json.loads(message)
        except ValueError:
            raise StreamProtocolError("malformed_json", "bad json") from None
        if not isinstance(msg, dict):
            raise StreamProtocolError("malformed_json", "not an object")
        event = msg.get("event")
        if event == "connected":
            return StreamConnected()
        if event == "start":
            start = msg["start"]
            return StreamStart(stream_id=start["streamSid"], call_ref=start["callSid"],
                               encoding="pcmu", sample_rate=8000,
                               custom_parameters=dict(start.get("customParameters") or {}))
        if event == "media":
            return StreamMedia(base64.b64decode(msg["media"]["payload"]))
        if event == "dtmf":
            return StreamDtmf(msg["dtmf"]["digit"])
        if event == "mark":
            return StreamMark(msg["mark"]["name"])
        if event == "stop":
            return StreamStop()
        raise StreamProtocolError("unknown_event", str(event))

    def media(self, stream_id: str, payload: bytes, *, encoding: Any = None,
              sample_rate: int | None = None) -> str:
        return json.dumps({"event": "media", "streamSid": stream_id,
                           "media": {"payload": base64.b64encode(payload).decode()}})

    def mark(self, stream_id: str, name: str) -> str:
        return json.dumps({"event": "mark", "streamSid": stream_id, "mark": {"name": name}})

    def clear(self, stream_id: str) -> str:
        return json.dumps({"event": "clear", "streamSid": stream_id})


def fake_dialects(connection_type: str, sample_rate: int | None) -> FakeTwilio:
    if connection_type != "twilio":
        raise ValueError(f"no fake dialect for {connection_type}")
    return FakeTwilio()


# -- what Twilio sends ---------------------------------------------------------------------

def connected() -> str:
    return json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def start(stream_sid: str, token: str | None) -> str:
    params = {"token": token} if token else {}
    return json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid,
                       "start": {"streamSid": stream_sid, "callSid": "CA" + "1" * 32,
                                 "accountSid": "AC" + "0" * 32, "tracks": ["inbound"],
                                 "customParameters": params,
                                 "mediaFormat": {"encoding": "audio/x-mulaw",
                                                 "sampleRate": 8000, "channels": 1}}})


def media(stream_sid: str, payload: bytes, chunk: int) -> str:
    return json.dumps({"event": "media", "streamSid": stream_sid,
                       "media": {"track": "inbound", "chunk": str(chunk),
                                 "timestamp": str(chunk * 20),
                                 "payload": base64.b64encode(payload).decode()}})


def dtmf(stream_sid: str, digit: str) -> str:
    return json.dumps({"event": "dtmf", "streamSid": stream_sid,
                       "dtmf": {"track": "inbound_track", "digit": digit}})


def mark(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def stop(stream_sid: str) -> str:
    return json.dumps({"event": "stop", "streamSid": stream_sid,
                       "stop": {"accountSid": "AC" + "0" * 32, "callSid": "CA" + "1" * 32}})
