"""Audio sources a call plays, independent of any transport: espeak-ng TTS and WAV files
from http(s) or the recordings bucket, as 8 kHz mono PCM16."""

from .audio import AudioError

__all__ = ["AudioError"]
