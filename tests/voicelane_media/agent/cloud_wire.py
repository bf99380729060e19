"""Wire-level fakes for the cloud engine tests: real AWS event-stream framing and the SDKs'
own HTTP boundaries (botocore's before-send hook, the Transcribe SDK's HTTP session).

Messages are framed with the Transcribe SDK's EventStreamMessageSerializer (prelude, headers,
CRC32s) and decoded by each SDK's own parser, so the bytes go through the real decoders.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from amazon_transcribe.eventstream import EventStreamBuffer, EventStreamMessageSerializer
from amazon_transcribe.response import Response
from botocore.awsrequest import AWSResponse


def event_message(event_type: str, payload: dict[str, Any]) -> bytes:
    """One AWS event-stream message (`:message-type event`) with a JSON payload."""
    headers = {
        ":message-type": "event",
        ":event-type": event_type,
        ":content-type": "application/json",
    }
    return EventStreamMessageSerializer().serialize(headers, json.dumps(payload).encode())


class RawBody:
    """A urllib3-like raw body: `stream()` yields the bytes in small pieces; after `hold_after`
    messages it blocks until `release` is set (to prove consumers act before the end)."""

    def __init__(
        self, messages: list[bytes], hold_after: int | None = None, piece: int = 11
    ) -> None:
        self.messages = messages
        self.hold_after = hold_after
        self.piece = piece
        self.release = threading.Event()
        self.closed = threading.Event()

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        for number, message in enumerate(self.messages):
            if number == self.hold_after:
                while not (self.release.wait(0.01) or self.closed.is_set()):
                    pass
            if self.closed.is_set():
                return
            for start in range(0, len(message), self.piece):
                yield message[start : start + self.piece]

    def read(self, amt: int | None = None) -> bytes:
        return b"".join(self.messages)

    def close(self) -> None:
        self.closed.set()

    def release_conn(self) -> None:
        return None


@dataclass
class BedrockWire:
    """Answers bedrock-runtime ConverseStream calls of a real botocore client with recorded
    event streams, one per call, and keeps the JSON request bodies the client sent."""

    streams: list[RawBody]
    requests: list[dict[str, Any]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def install(self, client: Any) -> BedrockWire:
        client.meta.events.register("before-send.bedrock-runtime.ConverseStream", self._send)
        return self

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        self.urls.append(request.url)
        self.requests.append(json.loads(request.body))
        body = self.streams[len(self.requests) - 1]
        headers = {"content-type": "application/vnd.amazon.eventstream"}
        return AWSResponse(request.url, 200, headers, body)


def converse_text(*tokens: str, stop: str = "end_turn") -> list[bytes]:
    """A ConverseStream reply of text tokens."""
    return [
        event_message("messageStart", {"role": "assistant"}),
        *(
            event_message("contentBlockDelta", {"delta": {"text": t}, "contentBlockIndex": 0})
            for t in tokens
        ),
        event_message("contentBlockStop", {"contentBlockIndex": 0}),
        event_message("messageStop", {"stopReason": stop}),
    ]


def converse_tool_use(text: str, tool_id: str, name: str, input_parts: list[str]) -> list[bytes]:
    """A ConverseStream reply: some text, then a toolUse block streamed as JSON fragments."""
    return [
        event_message("messageStart", {"role": "assistant"}),
        event_message("contentBlockDelta", {"delta": {"text": text}, "contentBlockIndex": 0}),
        event_message("contentBlockStop", {"contentBlockIndex": 0}),
        event_message(
            "contentBlockStart",
            {"start": {"toolUse": {"toolUseId": tool_id, "name": name}}, "contentBlockIndex": 1},
        ),
        *(
            event_message(
                "contentBlockDelta", {"delta": {"toolUse": {"input": p}}, "contentBlockIndex": 1}
            )
            for p in input_parts
        ),
        event_message("contentBlockStop", {"contentBlockIndex": 1}),
        event_message("messageStop", {"stopReason": "tool_use"}),
        event_message(
            "metadata",
            {
                "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                "metrics": {"latencyMs": 1},
            },
        ),
    ]


# -- Amazon Transcribe streaming: a fake service behind the SDK's HTTP session ----------------


def transcript_event(text: str, partial: bool) -> bytes:
    result = {
        "ResultId": "r1",
        "StartTime": 0.0,
        "EndTime": 1.0,
        "IsPartial": partial,
        "Alternatives": [{"Transcript": text, "Items": []}],
    }
    return event_message("TranscriptEvent", {"Transcript": {"Results": [result]}})


@dataclass
class TranscribeScript:
    """What the fake service says: `partials` (audio bytes received, text) while audio flows,
    then `finals` (each a non-partial result) after the client ends its audio stream."""

    partials: list[tuple[int, str]] = field(default_factory=list)
    finals: list[str] = field(default_factory=list)


class FakeTranscribeResponse:
    """The SDK's HTTP response interface (resolve_response, chunks, consume_body)."""

    def __init__(self, service: FakeTranscribeService, headers: dict[str, str], body: Any) -> None:
        self.service = service
        self.request_headers = headers
        self.body = body

    async def resolve_response(self) -> Response:
        return Response(status_code=200, headers={"x-amzn-request-id": "req-1"})

    async def consume_body(self) -> bytes:
        return b""

    async def chunks(self) -> Any:
        """Read the client's signed audio events as they come; answer per the script."""
        script = self.service.script
        outer = EventStreamBuffer()
        received = 0
        partials = list(script.partials)
        while True:
            try:
                data = self.body.read()
            except BlockingIOError:
                await asyncio.sleep(0.002)
                continue
            if data:
                outer.add_data(data)
            ended = False
            for signed in outer:
                assert ":chunk-signature" in signed.headers  # every event is signed
                if not signed.payload:
                    ended = True
                    continue
                inner = EventStreamBuffer()
                inner.add_data(signed.payload)
                for event in inner:
                    assert event.headers[":event-type"] == "AudioEvent"
                    self.service.audio += event.payload
                    self.service.audio_events += 1
                    received += len(event.payload)
            while partials and partials[0][0] <= received:
                yield transcript_event(partials.pop(0)[1], partial=True)
            if ended or (not data and self.body.closed):
                break
        for text in script.finals:
            yield transcript_event(text, partial=False)


class FakeTranscribeService:
    """Stands in for the SDK's AwsCrtHttpSessionManager (`client._session_manager`)."""

    def __init__(self, script: TranscribeScript) -> None:
        self.script = script
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.audio = b""
        self.audio_events = 0

    async def make_request(
        self, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> FakeTranscribeResponse:
        header_map = {k.lower(): v for k, v in headers}
        self.requests.append((url, header_map))
        return FakeTranscribeResponse(self, header_map, body)
