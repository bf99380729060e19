"""The bot's audio reaches the caller's leg in whole 20 ms frames, whatever its message size.

Pipecat with its default 24 kHz pipeline sends Twilio ``media`` of 1100 mu-law samples
(137.5 ms); the leg plays each piece from a frame boundary and pads its last frame, so handed
one message at a time every message gained 2.5 ms of silence (a click 7 times a second, seen
on the phone at the end of every 7th frame, and a playout falling 1.8 % behind). Here the
stream's own logic runs on real Twilio messages against a recording leg (no sockets).
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from voicelane.domain.stream import StreamSpec
from voicelane_media.transports.ws import dialect_for
from voicelane_media.transports.ws.bot_stream import BotStream
from voicelane_media.transports.ws.frames import StreamStart
from voicelane_media.transports.ws.transport import encode


class RecordingLeg:
    sample_rate = 8000

    def __init__(self) -> None:
        self.pieces: list[int] = []  # bytes per send_audio

    async def send_audio(self, pcm: bytes) -> None:
        self.pieces.append(len(pcm))

    async def clear(self) -> float:
        return 0.0

    def played_ms(self) -> float:
        return 0.0


class Call:
    call_id = "call_1"
    finished = False


class Transport:
    sample_rate = 8000

    def __init__(self, leg: RecordingLeg) -> None:
        self.leg = leg

    def media_leg(self) -> Any:
        return self.leg


async def _guard(url: str) -> None:
    return None


def _stream() -> tuple[BotStream, RecordingLeg, Any]:
    leg = RecordingLeg()
    spec = StreamSpec(url="ws://127.0.0.1:9/bot")
    stream = BotStream(Call(), Transport(leg), spec, "MZ" + "0" * 32, _guard)  # type: ignore[arg-type]
    bot = dialect_for("twilio", None)  # the bot's side writes media as Pipecat does
    return stream, leg, bot


async def test_odd_sized_bot_messages_are_played_as_whole_frames_and_none_is_lost() -> None:
    stream, leg, bot = _stream()
    side = stream.dialect.provider_side(StreamStart("MZ" + "0" * 32, "CA1", "pcmu", 8000))
    outbox: asyncio.Queue[str | bytes] = asyncio.Queue()
    chunk = encode("pcmu", np.full(1100, 3000, dtype=np.int16))
    for _ in range(10):
        await stream._on_bot(side.parse_bot(bot.media(stream.stream_id, chunk)), side, outbox)
    assert leg.pieces and all(n % 320 == 0 for n in leg.pieces), leg.pieces
    assert sum(leg.pieces) == 11000 * 2 // 320 * 320  # all but the tail short of a frame
    # a mark comes after everything before it: the tail is played first
    await stream._on_bot(side.parse_bot(bot.mark(stream.stream_id, "m1")), side, outbox)
    assert sum(leg.pieces) == 11000 * 2


async def test_a_clear_drops_the_held_tail() -> None:
    stream, leg, bot = _stream()
    side = stream.dialect.provider_side(StreamStart("MZ" + "0" * 32, "CA1", "pcmu", 8000))
    outbox: asyncio.Queue[str | bytes] = asyncio.Queue()
    chunk = encode("pcmu", np.full(1100, 3000, dtype=np.int16))
    await stream._on_bot(side.parse_bot(bot.media(stream.stream_id, chunk)), side, outbox)
    await stream._on_bot(side.parse_bot(bot.clear(stream.stream_id)), side, outbox)
    await stream._on_bot(side.parse_bot(bot.mark(stream.stream_id, "m1")), side, outbox)
    assert sum(leg.pieces) == 960 * 2  # the 140 samples held at the clear never play
