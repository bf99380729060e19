"""Answering-machine detection: who answered an outbound call (human, machine, fax, silence)
and where a machine's greeting ends (the beep). Pure and synchronous; the call drives it
(``calls/machine_detection.py``)."""

from voicelane_media.amd.detector import Decision, DetectorSettings, GreetingEnd, MachineDetector
from voicelane_media.amd.phrases import PhraseKind, match_phrase
from voicelane_media.amd.tones import Tone, ToneTracker, tone_frequency

__all__ = ["Decision", "DetectorSettings", "GreetingEnd", "MachineDetector", "PhraseKind", "Tone",
           "ToneTracker", "match_phrase", "tone_frequency"]
