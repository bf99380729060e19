"""A call's streams to customers' bots: started by ``stream_start``, by the call's own
``stream`` (outbound calls) or its number's (inbound), when the call is answered; stopped by
``stream_stop`` or the call's end. The stream itself is the transport room's
(:class:`~.ports.BotStreamFactory`, the WebSocket one in ``transports/ws/bot_stream.py``)."""

from __future__ import annotations

import asyncio
import uuid

from voicelane.domain.stream import StreamDialect, StreamSpec
from voicelane.domain.url_guard import SystemResolver, check_stream_url

from .call import LiveCall
from .ports import BotStreamFactory, UrlGuard

MAX_STREAMS_PER_CALL = 4  # Twilio's limit of forks per call


class StreamRefused(Exception):
    """A stream the call cannot take now: ``code`` (machine-readable) and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def stream_id_for(dialect: StreamDialect) -> str:
    """Twilio's stream ids are ``MZ`` + 32 hex digits; the others use UUIDs."""
    return "MZ" + uuid.uuid4().hex if dialect == StreamDialect.TWILIO else str(uuid.uuid4())


def guard_for(live: LiveCall) -> UrlGuard:
    """The SSRF guard the stream runs before every connection (DNS can change)."""
    async def guard(url: str) -> None:
        allow = await live.control.allows_private_urls(live.call.app_id)
        await asyncio.to_thread(check_stream_url, url, SystemResolver(),
                                allow_private=allow, require_tls=not allow)

    return guard


def open_stream(live: LiveCall, spec: StreamSpec, factory: BotStreamFactory | None) -> str:
    """Start streaming ``live`` to the bot of ``spec``; its stream id. StreamRefused when the
    node cannot stream, the call already has a bidirectional stream or a running agent (one
    owner of the call's audio), or holds the most streams a call may have."""
    if factory is None:
        raise StreamRefused("streams_not_supported", "this media node cannot stream to bots")
    running = [s for s in live.streams.values() if not live.stream_tasks[s.stream_id].done()]
    if len(running) >= MAX_STREAMS_PER_CALL:
        raise StreamRefused("too_many_streams",
                            f"a call has at most {MAX_STREAMS_PER_CALL} streams")
    if spec.bidirectional:
        if live.bot_owns_audio:
            raise StreamRefused("stream_active", "the call already has a bidirectional stream")
        if live.agent_task is not None and not live.agent_task.done():
            raise StreamRefused("stream_agent_conflict",
                                "an agent speaks on this call; use a one-way stream")
    stream_id = stream_id_for(spec.dialect)
    handle = factory(live, live.transport, spec, stream_id, guard_for(live))
    live.streams[stream_id] = handle
    live.stream_tasks[stream_id] = live.spawn(handle.run())
    if spec.bidirectional:
        live.bot_stream_id = stream_id
    return stream_id


def stop_streams(live: LiveCall, stream_id: str | None, reason: str) -> list[str]:
    """Stop one stream (or every running one); the ids stopped."""
    stopped = []
    for sid, handle in live.streams.items():
        if (stream_id is None or sid == stream_id) and not live.stream_tasks[sid].done():
            handle.stop(reason)
            stopped.append(sid)
    return stopped
