"""A customer's voice bot for Twilio Media Streams, written with Pipecat as its docs show.

Run it as its own process (``python -m tests.interop.pipecat_bot --log DIR``): a FastAPI app
under uvicorn on an ephemeral loopback port (printed as ``PORT <n>`` on stdout) with one
WebSocket endpoint, ``/ws``. Each connection is one call:

- Pipecat's own ``parse_telephony_websocket`` reads Twilio's ``connected``/``start`` messages
  (stream and call sids, custom parameters); ``TwilioFrameSerializer`` with ``auto_hang_up``
  off (no Twilio credentials: nobody's REST API is called) speaks the rest of the protocol;
- the pipeline is ``FastAPIWebsocketTransport`` in -> ``VADProcessor`` (Silero, the ONNX model
  shipped in the wheel) -> :class:`CallerLog` -> :class:`EspeakTTSService` (espeak-ng, a
  local engine) -> transport out; no network AI anywhere;
- the bot greets on connect; when the caller starts speaking while the bot talks it broadcasts
  an interruption (Pipecat's output transport then sends Twilio's ``clear``);
- with the custom parameter ``mode=hangup`` the bot says goodbye once the caller has spoken
  and ends the pipeline itself (an ``EndWorkerFrame``: the WebSocket closes cleanly, the bot's
  way of hanging up a ``<Connect><Stream>`` call);
- with ``mode=bench`` (``bench/ws_streams.py``) it talks for a minute without being
  interruptible, in 20 ms media messages (50 a second, as Twilio sends), from audio made once
  per process, so the load is the transport, the serializer and Silero, not TTS.

What the bot saw goes to ``DIR/bot.jsonl`` (one JSON object a line, ``t`` on the system-wide
monotonic clock so another process on the machine can compare times) and the caller's audio
as the bot heard it (16-bit 8 kHz) to ``DIR/caller-<stream sid>.wav`` when the call ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
import wave
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, WebSocket
from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndWorkerFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    TTSSpeakFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.audio.vad_processor import VADProcessor
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from pipecat.workers.runner import WorkerRunner

RATE = 8000  # Twilio's rate; the pipeline runs at it so nothing is resampled twice
GREETING = ("Hello, thank you for calling the order line of the example shop. I am a "
            "Pipecat bot on a media stream, and I will keep on talking about our opening "
            "hours and our delivery options until you interrupt me.")
SHORT_GREETING = "Hello, this is the example shop. How can I help?"
GOODBYE = "Thank you for calling, goodbye."
# Silero as Pipecat's phone examples tune it: 0.2 s of speech starts a turn (and a barge-in),
# 0.8 s of silence ends it, so a pause after "Yes," does not
VAD = VADParams(start_secs=0.2, stop_secs=0.8)


class EventLog:
    """Append-only JSON lines, flushed per line (the test reads it while the bot runs)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, event: str, **fields: Any) -> None:
        line = json.dumps({"t": time.monotonic(), "event": event, **fields})
        with self.path.open("a") as f:
            f.write(line + "\n")


class EspeakTTSService(TTSService):
    """A local TTS engine: espeak-ng writes a WAV to stdout; Pipecat resamples and frames it."""

    def __init__(self, *, voice: str = "en-us", words_per_minute: int = 170,
                 **kwargs: Any) -> None:
        super().__init__(push_start_frame=True, push_stop_frames=True,
                         settings=TTSSettings(model=None, voice=voice, language=None), **kwargs)
        self._voice_name = voice
        self._wpm = words_per_minute

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        process = await asyncio.create_subprocess_exec(
            "espeak-ng", "-v", self._voice_name, "-s", str(self._wpm), "--stdout", text,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        wav, _ = await process.communicate()

        async def chunks() -> AsyncGenerator[bytes, None]:
            yield wav

        await self.start_tts_usage_metrics(text)
        async for frame in self._stream_audio_frames_from_iterator(
                chunks(), strip_wav_header=True, context_id=context_id):
            await self.stop_ttfb_metrics()
            yield frame


class CallerLog(FrameProcessor):
    """Records what the caller said (audio, VAD segments, keys) and interrupts the bot on speech."""

    def __init__(self, log: EventLog, sid: str, *, hang_up: bool,
                 interrupts: bool = True) -> None:
        super().__init__()
        self.log = log
        self.sid = sid
        self.hang_up = hang_up
        self.interrupts = interrupts
        self.audio = bytearray()
        self.bot_speaking = False
        self.greeted = False
        self.said_goodbye = False
        self._speech_started: float | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            self.audio.extend(frame.audio)
        elif isinstance(frame, InputDTMFFrame):
            self.log.write("dtmf", sid=self.sid, digit=str(frame.button.value))
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._speech_started = time.monotonic()
            self.log.write("caller_started", sid=self.sid, bot_speaking=self.bot_speaking)
            if self.bot_speaking and self.interrupts:
                self.log.write("interrupting", sid=self.sid)
                await self.broadcast_interruption()
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            began = self._speech_started or time.monotonic()
            self.log.write("caller_stopped", sid=self.sid,
                           duration_ms=round((time.monotonic() - began) * 1000))
            if self.hang_up and self.greeted and not self.said_goodbye:
                self.said_goodbye = True
                await self.push_frame(TTSSpeakFrame(GOODBYE))
                # Pipecat's way to end a call from inside: the worker queues an EndFrame, which
                # flushes the goodbye out of the transport and then closes the WebSocket
                await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)
        elif isinstance(frame, BotStartedSpeakingFrame) and direction == FrameDirection.UPSTREAM:
            self.bot_speaking = True
            self.log.write("bot_started", sid=self.sid)
        elif isinstance(frame, BotStoppedSpeakingFrame) and direction == FrameDirection.UPSTREAM:
            self.bot_speaking = False
            self.greeted = True
            self.log.write("bot_stopped", sid=self.sid)
        elif isinstance(frame, InterruptionFrame) and direction == FrameDirection.DOWNSTREAM:
            self.bot_speaking = False
        await self.push_frame(frame, direction)

    def save(self, path: Path) -> None:
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(bytes(self.audio))


class LoggedTwilioSerializer(TwilioFrameSerializer):
    """Pipecat's serializer, unchanged, noting when it emits ``clear`` (for the barge-in clock)."""

    def __init__(self, log: EventLog, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log = log

    async def serialize(self, frame: Frame) -> str | bytes | None:
        data = await super().serialize(frame)
        if isinstance(data, str) and '"clear"' in data:
            self.log.write("clear_sent", sid=self._stream_sid)
        return data


_BENCH_AUDIO: list[bytes] = []


async def bench_audio(seconds: float = 60.0) -> bytes:
    """The greeting, spoken once per process by espeak-ng at 8 kHz, repeated to ``seconds``."""
    if not _BENCH_AUDIO:
        process = await asyncio.create_subprocess_exec(
            "espeak-ng", "-v", "en-us", "--stdout", GREETING, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        wav, _ = await process.communicate()
        rate = int.from_bytes(wav[24:28], "little")
        pcm = np.frombuffer(wav[44:44 + (len(wav) - 44) // 2 * 2], dtype="<i2")
        at_8k = np.interp(np.arange(0, len(pcm), rate / RATE), np.arange(len(pcm)), pcm)
        once = at_8k.astype("<i2").tobytes()
        _BENCH_AUDIO.append(once * int(seconds * RATE * 2 / len(once) + 1))
    return _BENCH_AUDIO[0]


def create_app(logdir: Path) -> FastAPI:
    log = EventLog(logdir / "bot.jsonl")
    app = FastAPI()

    @app.websocket("/ws")
    async def media_stream(websocket: WebSocket) -> None:
        await websocket.accept()
        transport_type, call_data = await parse_telephony_websocket(websocket)
        sid = str(call_data["stream_id"])
        params = dict(call_data.body or {})
        log.write("start", transport=transport_type, sid=sid, call_sid=call_data["call_id"],
                  custom_parameters=params, query=dict(websocket.query_params))
        serializer = LoggedTwilioSerializer(
            log, stream_sid=sid, call_sid=call_data["call_id"],
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False))
        mode = params.get("mode")
        transport = FastAPIWebsocketTransport(websocket=websocket, params=FastAPIWebsocketParams(
            audio_in_enabled=True, audio_out_enabled=True, add_wav_header=False,
            serializer=serializer, audio_out_10ms_chunks=2 if mode == "bench" else 4))
        hang_up = mode == "hangup"
        caller = CallerLog(log, sid, hang_up=hang_up, interrupts=mode != "bench")
        pipeline = Pipeline([transport.input(), VADProcessor(vad_analyzer=SileroVADAnalyzer(params=VAD)),
                             caller, EspeakTTSService(), transport.output()])
        # ``out_rate``: the pipeline's output rate; Pipecat's default is 24 kHz, and then the
        # serializer resamples each chunk to Twilio's 8 kHz (chunks of uneven length)
        out_rate = int(params.get("out_rate", RATE))
        worker = PipelineWorker(pipeline, params=PipelineParams(
            audio_in_sample_rate=RATE, audio_out_sample_rate=out_rate), enable_rtvi=False,
            idle_timeout_secs=None)

        @transport.event_handler("on_client_connected")
        async def greet(_transport: Any, _ws: Any) -> None:
            if mode == "bench":
                await worker.queue_frames([OutputAudioRawFrame(audio=await bench_audio(), sample_rate=RATE, num_channels=1)])
            else:
                await worker.queue_frames([TTSSpeakFrame(SHORT_GREETING if hang_up else GREETING)])

        @transport.event_handler("on_client_disconnected")
        async def gone(_transport: Any, _ws: Any) -> None:
            log.write("disconnected", sid=sid)
            await worker.cancel()

        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()
        caller.save(logdir / f"caller-{sid}.wav")
        log.write("ended", sid=sid, caller_audio_s=round(len(caller.audio) / 2 / RATE, 2))

    return app


async def _serve(logdir: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections made as soon as the port is printed wait in the backlog
    config = uvicorn.Config(create_app(logdir), log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await server.serve(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, required=True, help="directory for what the bot saw")
    args = parser.parse_args()
    args.log.mkdir(parents=True, exist_ok=True)
    logger.remove()  # Pipecat's DEBUG lines per frame would cost the CPU the test measures
    logger.add(sys.stderr, level="INFO")
    asyncio.run(_serve(args.log))


if __name__ == "__main__":
    main()
