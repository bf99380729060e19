"""A call's dual-channel recording, built from its transport's two taps, whatever the transport.

Channel 0 is the caller (the transport's audio tap: every frame it received), channel 1 what
the platform sent to the caller (its playout tap: every frame it sent, silence included). Both
are PCM16 at the transport's native ``sample_rate``; the result is a stereo 16-bit WAV at that
rate. Paused time is left out (a pause joins the audio before and after it), as the RTP
session's recorder did before recording moved up to the call.

Alignment. The taps carry samples, not timestamps, and a direction can fall silent: no caller
frames before the caller's first packet or while the call is held, no playout frames from a
transport that stops sending. Appending each channel's frames one after the other would then
slide the other direction in time. So each channel is written on a frame clock: the samples the
*other* channel delivered since the segment (start or resume) began, which runs in real time
because a transport delivers both taps on its 20 ms media clock (the RTP session does it from
its pacer tick). Before a frame is written, a channel that lags that clock is padded with
silence up to it:

- on its first frame of a segment, when it lags by more than one frame (the other direction's
  frame of the same tick may already be counted: within one frame the two are the same instant);
- later, when it lags by more than :data:`MAX_LAG_MS`: a gap (hold, silence suppression), not a
  frame delivered a little late, which catches up by itself without shifting anything.

Counting what each channel *delivered* (not what was written, padding included) keeps padding
of one channel from ever pushing the other. At the end the shorter channel is padded to the
longer. The RTP transport delivers each tick's caller frame before its playout frame, so there
the channels line up to the sample; a transport with jitter on a tap is aligned within
:data:`MAX_LAG_MS`.

Memory: two bytearrays of PCM16, 2 bytes per sample and channel (32 kB/s at 8 kHz).
"""

from __future__ import annotations

import io
import wave

import numpy as np

from voicelane_media.codecs.g711 import Int16Array

CALLER, PLAYOUT = 0, 1
MAX_LAG_MS = 100  # a channel further behind the other than this has a gap: padded with silence
_PCM16 = np.dtype("<i2")  # the WAV's sample format


class CallRecorder:
    """The stereo recording of one call: :meth:`caller` and :meth:`playout` are the taps."""

    def __init__(self, sample_rate: int) -> None:
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        self.sample_rate = sample_rate
        self.active = False
        self.paused = False
        self._frame = max(1, sample_rate // 50)  # 20 ms
        self._max_lag = sample_rate * MAX_LAG_MS // 1000
        self._data = (bytearray(), bytearray())  # PCM16 little-endian, per channel
        self._written = [0, 0]  # samples per channel, padding included
        self._delivered = [0, 0]  # samples the taps delivered in this segment
        self._segment = 0  # where the segment (start or resume) began, in samples

    # -- control --------------------------------------------------------------------------

    def start(self) -> None:
        """Start (or restart) an empty recording."""
        for data in self._data:
            data.clear()
        self._written = [0, 0]
        self.active = True
        self.paused = False
        self._new_segment()

    def pause(self) -> None:
        """Frames are ignored until :meth:`resume`; the paused time is not recorded."""
        self.paused = True

    def resume(self) -> None:
        if self.active and self.paused:
            self.paused = False
            self._new_segment()

    def stop(self) -> bytes:
        """End the recording: the WAV (empty bytes when none was started)."""
        if not self.active:
            return b""
        self.active = False
        end = max(self._written)
        for channel in (CALLER, PLAYOUT):
            self._pad(channel, end)
        wav = self.wav()
        for data in self._data:
            data.clear()
        return wav

    @property
    def samples(self) -> int:
        """The recording's length so far, in samples per channel."""
        return max(self._written)

    @property
    def duration_s(self) -> float:
        return self.samples / self.sample_rate

    # -- the taps -------------------------------------------------------------------------

    def caller(self, pcm: Int16Array) -> None:
        """One frame of the caller's audio (the transport's audio tap)."""
        self._add(CALLER, pcm)

    def playout(self, pcm: Int16Array) -> None:
        """One frame the transport sent toward the caller (its playout tap)."""
        self._add(PLAYOUT, pcm)

    def _add(self, channel: int, pcm: Int16Array) -> None:
        if not self.active or self.paused:
            return
        if pcm.dtype != _PCM16:
            pcm = pcm.astype(_PCM16)
        data = pcm.tobytes()  # a copy: the transport may reuse or keep its frame
        delivered = self._delivered
        clock = self._segment + delivered[1 - channel]
        if clock - self._written[channel] > (self._max_lag if delivered[channel] else self._frame):
            self._pad(channel, clock)
        self._data[channel].extend(data)
        samples = len(data) >> 1
        self._written[channel] += samples
        delivered[channel] += samples

    def _pad(self, channel: int, position: int) -> None:
        missing = position - self._written[channel]
        if missing > 0:
            self._data[channel].extend(bytes(2 * missing))
            self._written[channel] = position

    def _new_segment(self) -> None:
        end = max(self._written)
        for channel in (CALLER, PLAYOUT):
            self._pad(channel, end)
        self._segment = end
        self._delivered = [0, 0]

    # -- the file -------------------------------------------------------------------------

    def wav(self) -> bytes:
        """The recording so far as a stereo 16-bit WAV at ``sample_rate`` (caller left)."""
        left = np.frombuffer(self._data[CALLER], dtype="<i2")
        right = np.frombuffer(self._data[PLAYOUT], dtype="<i2")
        stereo = np.zeros((max(left.shape[0], right.shape[0]), 2), dtype="<i2")
        stereo[: left.shape[0], 0] = left
        stereo[: right.shape[0], 1] = right
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(stereo.tobytes())
        return out.getvalue()
