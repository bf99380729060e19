"""Answering-machine detection (AMD) settings of an outbound call, and of an agent (its default).

The shape follows Telnyx's ``answering_machine_detection`` (``detect``, ``detect_beep``; our
``off`` is its ``disabled``) with Twilio's knobs in milliseconds (``MachineDetectionTimeout``,
``MachineDetectionSpeechThreshold``); ``detect_beep`` is Twilio's ``DetectMessageEnd``: after a
machine is found, wait for the greeting to end (the beep) and report it. Detection always runs
asynchronously to the call (Twilio's ``AsyncAmd=true``): the call is answered and recorded at
once, only the agent's first words wait for the decision.

What happens when a machine answers is ``action``: ``hangup``, ``leave_message`` (wait for the
beep or the greeting's end, speak ``message``, hang up), ``continue`` (the agent runs as for a
person) or ``webhook`` (nothing automatic: the app reads ``call.machine.detection.ended`` and
sends commands). A person (or silence) always gets the agent; a fax is always hung up on.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from voicelane.domain.errors import ValidationFailed
from voicelane.domain.storable import JsonInt


class DetectionMode(StrEnum):
    OFF = "off"
    DETECT = "detect"  # human / machine / fax / silence, as soon as it is known
    DETECT_BEEP = "detect_beep"  # and, for a machine, the end of its greeting (the beep)


class MachineAction(StrEnum):
    HANGUP = "hangup"
    LEAVE_MESSAGE = "leave_message"
    CONTINUE = "continue"
    WEBHOOK = "webhook"


class DetectionResult(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    FAX = "fax"
    SILENCE = "silence"


class VoicemailMessage(BaseModel):
    """What ``leave_message`` says after the beep (spoken by the call's TTS)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2_000)
    voice: str | None = Field(default=None, max_length=128,
                              description="A TTS voice (espeak-ng name locally); default en-us.")


class MachineDetection(BaseModel):
    """Who answered an outbound call, and what to do when it is a machine."""

    model_config = ConfigDict(extra="forbid")

    mode: DetectionMode = DetectionMode.DETECT
    timeout_ms: JsonInt = Field(
        default=5_000, ge=2_000, le=30_000,
        description="Longest time from the answer to a decision; no speech by then is "
                    "`silence` (Twilio MachineDetectionTimeout, Telnyx total_analysis_time).")
    speech_threshold_ms: JsonInt = Field(
        default=2_400, ge=1_000, le=6_000,
        description="Speech longer than this without a pause is a greeting, not a person "
                    "saying hello (Twilio MachineDetectionSpeechThreshold).")
    greeting_timeout_ms: JsonInt = Field(
        default=20_000, ge=3_000, le=60_000,
        description="detect_beep / leave_message: longest wait for the beep or the end of "
                    "the greeting after a machine was found.")
    action: MachineAction = MachineAction.HANGUP
    message: VoicemailMessage | None = Field(
        default=None, description="Required by action leave_message.")

    @property
    def enabled(self) -> bool:
        return self.mode != DetectionMode.OFF

    @property
    def waits_for_beep(self) -> bool:
        """The greeting's end is wanted: to leave a message, or reported (detect_beep)."""
        return self.enabled and (self.mode == DetectionMode.DETECT_BEEP
                                 or self.action == MachineAction.LEAVE_MESSAGE)


def check_machine_detection(spec: MachineDetection | None, *, to_phone: bool = True) -> None:
    """422 ``machine_detection_message_required`` for ``leave_message`` without a message,
    422 ``machine_detection_not_supported`` on a call that does not dial a phone (a browser
    or WebSocket leg has no answering machine)."""
    if spec is None or not spec.enabled:
        return
    if not to_phone:
        raise ValidationFailed("machine_detection is for calls to phone numbers (to_channel pstn)",
                               code="machine_detection_not_supported",
                               details={"field": "machine_detection"})
    if spec.action == MachineAction.LEAVE_MESSAGE and spec.message is None:
        raise ValidationFailed("action leave_message needs a message to leave",
                               code="machine_detection_message_required",
                               details={"field": "machine_detection.message"})
