"""Noise suppression of the caller's audio, before VAD and STT (the agent's `noise_suppression`).

Two maintained engines from PyPI, both Apache-2.0:

- `rnnoise`: RNNoise (Xiph's recurrent network) as built in the `pyrnnoise` wheel. The node
  installs that wheel without its dependencies (audiolab, matplotlib: only its file reader
  needs them) and calls the bundled `librnnoise.so` through ctypes. 48 kHz, 480-sample frames.
- `webrtc`: WebRTC's noise suppressor (level 2 of 0-4, no gain control) from the
  `webrtc-noise-gain` wheel. 16 kHz, 160-sample frames.

Each suppressor takes the leg's 20 ms frames at 8 or 16 kHz, resamples them to its engine's
rate, cuts them into the engine's frames (buffering the rest, so any frame size works), and
returns as many samples as it was given, at the leg's rate. With 20 ms frames the frames fit
exactly: no delay is added beyond the engine's own.

    suppressor = build_suppressor("rnnoise")       # None for "off"
    clean = suppressor.process(pcm16, 8000)        # same length as pcm16
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from voicelane_media.agent.frames import AudioIn, Direction, Frame
from voicelane_media.agent.local_engines import package_dir
from voicelane_media.agent.pipeline import Processor
from voicelane_media.agent.providers import NoiseSuppressor
from voicelane_media.codecs.resample import resample

Int16Array = npt.NDArray[np.int16]


class _Framed:
    """Resampling and framing around an engine that takes `frame` samples at `rate`."""

    name = ""

    def __init__(self, rate: int, frame: int) -> None:
        self.rate = rate
        self.frame = frame
        self._pending = np.zeros(0, dtype=np.int16)  # engine-rate input not yet a whole frame
        self._ready = np.zeros(0, dtype=np.int16)  # engine-rate output not yet handed back

    def _run(self, frame: Int16Array) -> Int16Array:
        raise NotImplementedError

    def process(self, pcm: bytes, sample_rate: int) -> bytes:
        samples = np.frombuffer(pcm, dtype="<i2")
        if samples.size == 0:
            return pcm
        wanted = int(samples.size * self.rate / sample_rate)
        up = _to_int16(resample(samples.astype(np.float64), sample_rate, self.rate))
        self._pending = np.concatenate([self._pending, up])
        whole = self._pending.size // self.frame * self.frame
        out = [self._run(self._pending[i : i + self.frame]) for i in range(0, whole, self.frame)]
        self._pending = self._pending[whole:]
        self._ready = np.concatenate([self._ready, *out])
        if self._ready.size < wanted:  # odd frame sizes: the first call waits on a whole frame
            self._ready = np.concatenate(
                [np.zeros(wanted - self._ready.size, dtype=np.int16), self._ready])
        cleaned, self._ready = self._ready[:wanted], self._ready[wanted:]
        back = _to_int16(resample(cleaned.astype(np.float64), self.rate, sample_rate))
        if back.size != samples.size:  # rounding of an odd size: keep the caller's length
            back = np.resize(back, samples.size)
        return back.astype("<i2").tobytes()


def _to_int16(x: npt.NDArray[np.floating[Any]]) -> Int16Array:
    out: Int16Array = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    return out


@functools.cache
def _rnnoise_lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(package_dir("pyrnnoise") / "librnnoise.so"))
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_process_frame.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    lib.rnnoise_get_frame_size.restype = ctypes.c_int
    return lib


class RNNoiseSuppressor(_Framed):
    """RNNoise at 48 kHz, one state per call (it is recurrent: it learns the line's noise)."""

    name = "rnnoise"

    def __init__(self) -> None:
        self._lib = _rnnoise_lib()
        super().__init__(48000, int(self._lib.rnnoise_get_frame_size()))
        self._state = self._lib.rnnoise_create(None)
        self.speech_probability = 0.0  # RNNoise's own voice activity of the last frame

    def _run(self, frame: Int16Array) -> Int16Array:
        buf = np.ascontiguousarray(frame, dtype=np.float32)  # RNNoise takes int16-scaled floats
        ptr = buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.speech_probability = float(self._lib.rnnoise_process_frame(self._state, ptr, ptr))
        return _to_int16(buf)

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state:
            self._lib.rnnoise_destroy(state)
            self._state = None


class WebRTCSuppressor(_Framed):
    """WebRTC noise suppression (level 0-4) at 16 kHz, without automatic gain."""

    name = "webrtc"

    def __init__(self, level: int = 2) -> None:
        from webrtc_noise_gain import AudioProcessor

        super().__init__(16000, 160)
        self._processor = AudioProcessor(0, level)

    def _run(self, frame: Int16Array) -> Int16Array:
        result = self._processor.Process10ms(frame.astype("<i2").tobytes())
        return np.frombuffer(result.audio, dtype="<i2").astype(np.int16)


def build_suppressor(kind: str) -> NoiseSuppressor | None:
    """The suppressor `kind` names (`off`: None). Raises when its wheel is not installed."""
    if kind == "rnnoise":
        return RNNoiseSuppressor()
    if kind == "webrtc":
        return WebRTCSuppressor()
    if kind == "off":
        return None
    raise ValueError(f"unknown noise suppression {kind!r}")


class NoiseFilter(Processor):
    """The first processor: replaces each caller frame's audio with the suppressor's output.

    A suppressor that fails passes the audio through unchanged from then on (the call goes
    on with the noise), reported once to `on_error` as stage `noise`."""

    def __init__(
        self,
        suppressor: NoiseSuppressor,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        super().__init__()
        self.suppressor: NoiseSuppressor | None = suppressor
        self.on_error = on_error or (lambda stage, error: None)
        self.frames = 0

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, AudioIn) and self.suppressor is not None:
            try:
                frame.pcm = self.suppressor.process(frame.pcm, frame.sample_rate)
                self.frames += 1
            except Exception as exc:
                self.suppressor = None
                self.on_error("noise", exc)
        await super().process(frame, direction)
