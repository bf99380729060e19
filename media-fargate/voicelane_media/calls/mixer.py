"""The audio of a bridge or conference, mixed on 20 ms frames (pure and synchronous): each
participant hears everyone but themselves.

Every participant pushes the frames it receives (at its own rate) into its own short queue.
Once per 20 ms the room's clock calls :meth:`Mixer.mix`, which takes at most one frame from
each queue, sums the heard ones at the highest rate among the participants (in int32, so the
sum never wraps), takes each listener's own frame back out, limits the result to int16 and
queues it for that listener, resampled once to the listener's rate. A participant that sends
nothing on a tick (loss, silence suppression, a stalled socket) simply adds nothing: it never
holds the others back. The legs pull their queued mix on their own media clocks
(``Transport.set_live_source``); both queues are short and drop their oldest frame when a
clock runs fast, so drift between the legs' clocks never builds up delay.

Clipping protection is a limiter per listener: when a mix would exceed int16, the gain drops
at once to what fits and recovers over about 200 ms, ramped across each frame so the gain
never steps inside one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample

FRAMES_PER_SECOND = 50
IN_QUEUE_FRAMES = 5  # 100 ms of a participant's audio absorbs bursts from a jittery socket
OUT_QUEUE_FRAMES = 3  # 60 ms between the room's clock and a leg's clock
RELEASE_PER_FRAME = 0.1  # the limiter's gain recovers from 0 to 1 in 10 frames (200 ms)
INT16_MAX = 32767.0

Float = npt.NDArray[np.float64]


class MixerError(ValueError):
    """A participant the mixer does not have, or one added twice, or a bad rate."""


@dataclass
class Participant:
    """One leg in the mix, with its queues and counters."""

    key: Hashable
    sample_rate: int
    muted: bool = False  # the others do not hear it
    hearing: bool = True  # it gets the mix (False: a leg that only speaks into the room)
    held: bool = False  # on hold: neither heard nor hearing (its hold music is its own playback)
    inbound: deque[Int16Array] = field(default_factory=lambda: deque(maxlen=IN_QUEUE_FRAMES))
    outbound: deque[Int16Array] = field(default_factory=lambda: deque(maxlen=OUT_QUEUE_FRAMES))
    gain: float = 1.0
    frames_in: int = 0
    frames_in_dropped: int = 0  # pushed while its queue was full (its clock ran fast)
    ticks_silent: int = 0  # ticks it had nothing queued (loss, or its clock ran slow)
    frames_out: int = 0
    frames_out_dropped: int = 0  # mixed for it while its queue was full (its clock ran slow)
    underruns: int = 0  # pulls that found no mix queued
    clipped_frames: int = 0  # frames the limiter turned down

    @property
    def frame_samples(self) -> int:
        return self.sample_rate // FRAMES_PER_SECOND

    def stats(self) -> dict[str, int]:
        return {"frames_in": self.frames_in, "frames_in_dropped": self.frames_in_dropped,
                "ticks_silent": self.ticks_silent, "frames_out": self.frames_out,
                "frames_out_dropped": self.frames_out_dropped, "underruns": self.underruns,
                "clipped_frames": self.clipped_frames}


class Mixer:
    """An N-way mix: :meth:`push` what each participant says, :meth:`mix` every 20 ms,
    :meth:`pull` what each participant hears."""

    def __init__(self) -> None:
        self._participants: dict[Hashable, Participant] = {}
        self.ticks = 0
        # what each participant the room heard said on the last tick, at the mix's rate
        # (a conference's per-participant recording tracks read it after each tick)
        self.last_voices: dict[Hashable, Float] = {}

    # -- membership -------------------------------------------------------------------------

    def add(self, key: Hashable, sample_rate: int) -> Participant:
        """Add a participant whose audio is PCM16 at ``sample_rate`` (8, 16, 48 kHz...)."""
        if key in self._participants:
            raise MixerError(f"participant {key!r} is already in the mix")
        if sample_rate <= 0 or sample_rate % FRAMES_PER_SECOND:
            raise MixerError(f"sample rate {sample_rate} does not make 20 ms frames")
        participant = Participant(key, sample_rate)
        self._participants[key] = participant
        return participant

    def remove(self, key: Hashable) -> Participant:
        try:
            return self._participants.pop(key)
        except KeyError:
            raise MixerError(f"participant {key!r} is not in the mix") from None

    def participant(self, key: Hashable) -> Participant:
        try:
            return self._participants[key]
        except KeyError:
            raise MixerError(f"participant {key!r} is not in the mix") from None

    def __contains__(self, key: object) -> bool:
        return key in self._participants

    def __len__(self) -> int:
        return len(self._participants)

    def __iter__(self) -> Iterator[Participant]:
        return iter(list(self._participants.values()))

    @property
    def sample_rate(self) -> int:
        """The mix's rate: the highest among the participants (8 kHz when empty)."""
        return max((p.sample_rate for p in self._participants.values()), default=8000)

    # -- audio ------------------------------------------------------------------------------

    def push(self, key: Hashable, frame: Int16Array) -> None:
        """One 20 ms frame the participant said (shorter or longer frames are cut or padded
        to 20 ms). A participant that left is ignored: its tap may outlive it by a tick."""
        participant = self._participants.get(key)
        if participant is None:
            return
        size = participant.frame_samples
        if frame.shape[0] != size:
            frame = np.pad(frame[:size], (0, max(0, size - frame.shape[0])))
        if len(participant.inbound) == IN_QUEUE_FRAMES:
            participant.frames_in_dropped += 1
        participant.inbound.append(frame)
        participant.frames_in += 1

    def mix(self) -> Int16Array:
        """One 20 ms tick: queue each hearing participant's mix; returns the whole room's mix
        at :attr:`sample_rate` (every unmuted voice: a conference recording's mixed channel)."""
        self.ticks += 1
        rate = self.sample_rate
        size = rate // FRAMES_PER_SECOND
        voices: dict[Hashable, Float] = {}
        total = np.zeros(size, dtype=np.float64)
        for participant in self._participants.values():
            if not participant.inbound:
                participant.ticks_silent += 1
                continue
            frame = participant.inbound.popleft()
            if participant.muted or participant.held:
                continue
            voice = _at_rate(frame, participant.sample_rate, rate, size)
            voices[participant.key] = voice
            total += voice
        self.last_voices = voices
        for participant in self._participants.values():
            if not participant.hearing or participant.held:
                continue
            own = voices.get(participant.key)
            heard = total - own if own is not None else total
            heard = _at_rate(heard, rate, participant.sample_rate, participant.frame_samples)
            if len(participant.outbound) == OUT_QUEUE_FRAMES:
                participant.frames_out_dropped += 1
            participant.outbound.append(self._limit(participant, heard))
            participant.frames_out += 1
        return _clip(total)

    def pull(self, key: Hashable) -> Int16Array | None:
        """The next frame this participant hears, at its rate (``None``: nothing queued, or
        it left); a leg's ``LiveSource``."""
        participant = self._participants.get(key)
        if participant is None:
            return None
        if not participant.outbound:
            participant.underruns += 1
            return None
        return participant.outbound.popleft()

    @staticmethod
    def _limit(participant: Participant, heard: Float) -> Int16Array:
        peak = float(np.max(np.abs(heard))) if heard.shape[0] else 0.0
        fits = 1.0 if peak <= INT16_MAX else INT16_MAX / peak
        if fits < 1.0:
            participant.clipped_frames += 1
        start = participant.gain
        if fits < start:  # attack at once: never let a sample clip
            participant.gain = fits
            return _clip(heard * fits)
        end = min(fits, start + RELEASE_PER_FRAME)
        participant.gain = end
        if end == start:
            return _clip(heard * start)
        return _clip(heard * np.linspace(start, end, heard.shape[0]))


def _at_rate(frame: npt.NDArray[np.generic], src: int, dst: int, size: int) -> Float:
    samples = np.asarray(frame, dtype=np.float64)
    if src != dst:
        samples = resample(samples, src, dst)
    if samples.shape[0] != size:  # an uneven ratio's rounding: keep frames exactly 20 ms
        samples = np.pad(samples[:size], (0, max(0, size - samples.shape[0])), mode="edge")
    return samples


def _clip(samples: Float) -> Int16Array:
    return np.asarray(np.clip(np.round(samples), -32768, 32767), dtype=np.int16)
