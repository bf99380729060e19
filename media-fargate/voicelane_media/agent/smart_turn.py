"""Semantic end-of-turn: the Smart Turn v3 model (BSD-2) on the caller's last turn audio.

The ONNX file ships inside the `pipecat-ai` wheel (`pipecat/audio/turn/smart_turn/data/`). The
node installs that wheel without its dependencies and only reads the file from it, as it does
for silero's ONNX: no pipecat code runs here. Inputs are Whisper log-mel features (80 x 800,
8 s at 16 kHz) from faster-whisper's `FeatureExtractor`, of the zero-mean unit-variance
waveform (what transformers' `WhisperFeatureExtractor(do_normalize=True)` feeds the model).

    analyzer = SmartTurnAnalyzer()
    p = analyzer.probability(pcm16, 16000)   # 0..1, that the caller finished their turn

`probability` is synchronous and CPU-bound (tens to a few hundred ms): the turn-taking
processor runs it in a worker thread.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from voicelane_media.agent.audio import pcm_to_float
from voicelane_media.agent.local_engines import onnx_session, package_dir
from voicelane_media.codecs.resample import resample_pcm16

MODEL_RATE = 16000
WINDOW_S = 8
_MODEL_GLOB = "smart-turn-v3*-cpu.onnx"


class SmartTurnSettings(BaseModel):
    """model_path: the ONNX file (None = the one in the installed pipecat-ai wheel)."""

    model_path: str | None = None
    threads: int = Field(default=1, ge=1, le=8)


def bundled_model_path() -> Path:
    """The Smart Turn v3 ONNX inside the installed pipecat-ai wheel, found without importing it."""
    data = package_dir("pipecat") / "audio/turn/smart_turn/data"
    found = sorted(data.glob(_MODEL_GLOB))
    if not found:
        raise RuntimeError(f"no {_MODEL_GLOB} in {data}")
    return found[-1]


@functools.cache
def _features() -> Any:
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor(chunk_length=WINDOW_S)


def window(pcm: bytes, sample_rate: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The model's input audio: the last 8 s at 16 kHz as float32, zero-padded at the front."""
    if sample_rate != MODEL_RATE:
        pcm = resample_pcm16(pcm, sample_rate, MODEL_RATE)
    audio = pcm_to_float(pcm)[-MODEL_RATE * WINDOW_S :]
    return np.pad(audio, (MODEL_RATE * WINDOW_S - audio.size, 0)).astype(np.float32)


class SmartTurnAnalyzer:
    """Probability that the caller's turn is complete, from the audio of the turn so far."""

    def __init__(self, settings: SmartTurnSettings | None = None) -> None:
        self.settings = settings or SmartTurnSettings()
        self.model_path = self.settings.model_path or str(bundled_model_path())
        self._session = onnx_session(self.model_path, self.settings.threads)
        self._extract = _features()

    def features(self, pcm: bytes, sample_rate: int) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Log-mel features (80 x 800) of the last 8 s of `pcm` (PCM16 mono)."""
        audio = window(pcm, sample_rate)
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        mel = self._extract(audio, padding=0)
        return np.asarray(mel, dtype=np.float32)

    def probability(self, pcm: bytes, sample_rate: int) -> float:
        """0..1: how sure the model is that the caller has finished speaking."""
        features = self.features(pcm, sample_rate)[None, :, :]
        out = self._session.run(None, {"input_features": features})
        return float(np.asarray(out[0]).ravel()[0])
