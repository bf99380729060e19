"""The transport-agnostic call (calls/call.py) on a fake transport: one finish, its events,
gather and DTMF, hold, and audio produced at the transport's native rate (no SIP, no RTP)."""

from __future__ import annotations

import asyncio
import io
import wave
from typing import Any

import numpy as np
from voicelane.domain.call import CallStatus
from voicelane.domain.models import Call
from voicelane_media.agent.leg import InMemoryLeg, MediaLeg
from voicelane_media.calls.call import LiveCall
from voicelane_media.calls.gather import Gather
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.base import AudioTap, CallEvents, Ending, LiveSource, Transport


class FakeTransport:
    """A `Transport` that records what the call asked of it."""

    def __init__(self, sample_rate: int = 16000) -> None:
        self.sample_rate = sample_rate
        self.canceled = asyncio.Event()
        self.events: CallEvents | None = None
        self.played: list[Int16Array] = []
        self.digits: list[str] = []
        self.hangups: list[str] = []
        self.closed = 0
        self.connected = True
        self.ringing = False
        self.audio_taps: list[AudioTap] = []
        self.playout_taps: list[AudioTap] = []
        self.live_source: LiveSource | None = None
        self.dial_ending: Ending | None = None

    def bind(self, events: CallEvents) -> None:
        self.events = events

    async def ring(self) -> None: ...

    async def answer(self) -> Ending | None:
        return None

    async def reject(self, reason: str) -> int:
        return 603

    async def dial(self) -> Ending | None:
        return self.dial_ending

    async def hangup(self, reason: str) -> None:
        self.hangups.append(reason)

    async def hold(self, held: bool) -> dict[str, Any] | None:
        return None

    async def transfer(self, to: str) -> None: ...

    async def send_dtmf(self, digits: str) -> None:
        if "A" in digits:
            raise ValueError("the peer did not negotiate telephone-event")
        self.digits.append(digits)

    async def play(self, pcm: Int16Array) -> int:
        self.played.append(pcm)
        return int(pcm.shape[0])

    def stop_playback(self) -> int:
        return 0

    def add_audio_tap(self, tap: AudioTap) -> None:
        self.audio_taps.append(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        self.audio_taps.remove(tap)

    def add_playout_tap(self, tap: AudioTap) -> None:
        self.playout_taps.append(tap)

    def remove_playout_tap(self, tap: AudioTap) -> None:
        self.playout_taps.remove(tap)

    def set_live_source(self, source: LiveSource | None) -> None:
        self.live_source = source

    def tick(self, caller: Int16Array | None, sent: Int16Array) -> None:
        """One 20 ms frame of its media clock: the caller's (None: nothing came), then the
        one sent toward the caller."""
        if caller is not None:
            for tap in list(self.audio_taps):
                tap(caller)
        for tap in list(self.playout_taps):
            tap(sent)

    def stats(self) -> dict[str, Any]:
        return {"mos": 4.123456, "packets_sent": 10}

    def media_leg(self) -> MediaLeg:
        return InMemoryLeg()

    async def close(self) -> None:
        self.closed += 1


class FakeControl:
    """The control-plane methods a call uses, writing into lists."""

    def __init__(self) -> None:
        self.transitions: list[tuple[str, CallStatus, dict[str, Any]]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.recordings: list[tuple[bytes, float]] = []

    async def transition(self, call_id: str, target: CallStatus,
                         changes: dict[str, Any] | None = None,
                         details: dict[str, Any] | None = None) -> None:
        self.transitions.append((call_id, target, changes or {}))

    async def record_event(self, call_id: str, event_type: str,
                           details: dict[str, Any] | None = None) -> None:
        self.events.append((event_type, details or {}))

    async def save_recording(self, call: Call, wav: bytes, duration_s: float) -> str:
        self.recordings.append((wav, duration_s))
        return f"recordings/{call.app_id}/{call.call_id}.wav"

    async def app(self, app_id: str) -> None:
        return None  # no allow-list: the default (the call's own number's country) applies

    def __getattr__(self, name: str) -> Any:  # the rest of ControlPort is not used here
        raise AssertionError(f"unexpected control-plane call {name}")


def _call(direction: str = "inbound") -> Call:
    return Call.model_validate({
        "call_id": "call_1", "app_id": "app_1", "direction": direction, "status": "initiated",
        "from": "+15550001", "to": "+15550002", "from_channel": "pstn", "to_channel": "pstn",
        "created_at": "2026-12-04T00:00:00Z"})


def _live(transport: FakeTransport, control: FakeControl,
          released: list[LiveCall] | None = None) -> LiveCall:
    out = released if released is not None else []
    typed: Transport = transport  # mypy: the fake is a whole Transport
    return LiveCall(control, _call(), typed, out.append)  # type: ignore[arg-type]  # control


async def test_finish_runs_once_closes_the_transport_and_writes_rounded_quality() -> None:
    transport, control = FakeTransport(), FakeControl()
    released: list[LiveCall] = []
    live = _live(transport, control, released)
    assert transport.events is live
    await live.finish(CallStatus.COMPLETED, "hangup", None)
    await live.finish(CallStatus.FAILED, "media_node_error", None)
    assert [(t[1], t[2]["end_reason"]) for t in control.transitions] == [
        (CallStatus.COMPLETED, "hangup")]
    assert control.transitions[0][2]["quality"] == {"mos": 4.123, "packets_sent": 10}
    assert transport.closed == 1 and released == [live] and live.ended.is_set()


async def test_remote_hangup_names_the_side_and_ours_wins() -> None:
    live = _live(FakeTransport(), FakeControl())
    live.remote_hangup()
    assert live.hangup_reason == "hangup_by_caller" and live.ended.is_set()
    ours = _live(FakeTransport(), FakeControl())
    await ours.hangup("max_duration")
    ours.remote_hangup()
    assert ours.hangup_reason == "max_duration"


async def test_digits_become_events_and_feed_a_running_gather() -> None:
    control = FakeControl()
    live = _live(FakeTransport(), control)
    live.gather = Gather(2, "#", 5)
    live.dtmf_received("4")
    live.dtmf_received("2")
    for _ in range(10):  # each digit's event is written after the one before it
        await asyncio.sleep(0)
    assert live.gather.result.result() == "max_digits" and live.gather.digits == "42"
    assert [e for e in control.events if e[0] == "call.dtmf.received"] == [
        ("call.dtmf.received", {"digit": "4"}), ("call.dtmf.received", {"digit": "2"})]


async def test_remote_hold_is_reported_once_per_change() -> None:
    control = FakeControl()
    live = _live(FakeTransport(), control)
    for held in (True, True, False):
        live.hold_changed(held, "remote")
    await asyncio.sleep(0)
    assert [e[0] for e in control.events] == ["call.hold", "call.unhold"]


async def test_send_dtmf_pauses_on_w_and_reports_a_refusal() -> None:
    transport, control = FakeTransport(), FakeControl()
    live = _live(transport, control)
    await live.send_dtmf("1w2")
    assert transport.digits == ["1", "2"]
    await live.send_dtmf("A")
    assert [e[0] for e in control.events] == ["call.dtmf.sent", "call.dtmf.failed"]
    assert control.events[0][1] == {"digits": "1w2"}


async def test_speech_is_synthesized_at_the_transports_native_rate() -> None:
    for rate in (8000, 16000):
        transport, control = FakeTransport(rate), FakeControl()
        live = _live(transport, control)
        await live.speak("Hello there", None)
        ended = control.events[-1][1]
        assert ended["status"] == "completed"
        samples = transport.played[0].shape[0]
        # the same words last as long at either rate: the samples scale with the rate
        assert abs(ended["duration_s"] - samples / rate) < 1e-3
        assert 0.4 < ended["duration_s"] < 3.0
        assert transport.played[0].dtype == np.int16


async def test_the_call_records_from_the_transports_taps_and_pauses_by_detaching_them() -> None:
    rate = 16000
    transport, control = FakeTransport(rate), FakeControl()
    live = _live(transport, control)
    frame = rate // 50
    caller, sent = np.full(frame, 1, np.int16), np.full(frame, 2, np.int16)
    live.start_recording()
    assert len(transport.audio_taps) == len(transport.playout_taps) == 1
    for tick in range(10):  # the caller's audio starts 100 ms in: silence before it
        transport.tick(caller if tick >= 5 else None, sent)
    live.pause_recording()
    live.pause_recording()
    assert transport.audio_taps == transport.playout_taps == []
    for _ in range(3):  # paused: left out
        transport.tick(caller, sent)
    live.resume_recording()
    live.resume_recording()  # taps attached once, not twice
    assert len(transport.audio_taps) == len(transport.playout_taps) == 1
    for _ in range(5):
        transport.tick(caller, sent)
    await live.finish(CallStatus.COMPLETED, "hangup", None)  # saves the running recording
    assert transport.audio_taps == transport.playout_taps == [] and not live.recording
    [(wav, duration)] = control.recordings
    assert duration == 0.3
    with wave.open(io.BytesIO(wav)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, rate)
        stereo = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert stereo.shape == (15 * frame, 2)
    assert not stereo[: 5 * frame, 0].any() and (stereo[5 * frame:, 0] == 1).all()
    assert (stereo[:, 1] == 2).all()
    saved = [d for e, d in control.events if e == "call.recording.saved"]
    assert saved == [{"s3_key": "recordings/app_1/call_1.wav", "duration_s": 0.3,
                      "channels": 2, "format": "wav"}]
