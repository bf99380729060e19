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
The message is a fixed ``text``, or (``generate``) written by the call's agent from the call's
context. A call-screening prompt ("say your name and why you are calling") is a machine that
speaks for a person: with ``screening: answer`` (the default where an agent runs the call) the
agent answers it with its name and purpose and waits for the person to come on the line.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool

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


class ScreeningAction(StrEnum):
    ANSWER = "answer"  # the agent says who is calling and why, then waits for the person
    MACHINE = "machine"  # a screener is a machine like any other: ``action`` applies


class DetectionResult(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    FAX = "fax"
    SILENCE = "silence"


class VoicemailMessage(BaseModel):
    """What ``leave_message`` says after the beep (spoken by the call's TTS): ``text``, or
    (``generate``) a short message the call's agent writes from the call's context."""

    # exactly one of the two, said in the schema too (clients and the fuzz test read it)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["text"], "properties": {"text": {"type": "string"},
                                              "generate": {"const": False}}},
        {"required": ["generate"], "properties": {"generate": {"const": True},
                                                  "text": {"type": "null"}}},
    ]})

    text: str | None = Field(default=None, min_length=1, max_length=2_000)
    generate: StrictBool = Field(
        default=False, description="The agent writes the message (its name, the call's "
                                   "purpose from `context`); instead of `text`.")
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
    screening: ScreeningAction | None = Field(
        default=None, description="A call-screening prompt: `answer` (the agent says its name "
        "and purpose, then waits for the person) or `machine` (`action` applies). Default: "
        "`answer` on calls an agent runs, else `machine`.")

    @property
    def enabled(self) -> bool:
        return self.mode != DetectionMode.OFF

    @property
    def waits_for_beep(self) -> bool:
        """The greeting's end is wanted: to leave a message, or reported (detect_beep)."""
        return self.enabled and (self.mode == DetectionMode.DETECT_BEEP
                                 or self.action == MachineAction.LEAVE_MESSAGE)

    def answers_screening(self, has_agent: bool) -> bool:
        """A screening prompt gets the agent's answer (``screening``, by default with an agent)."""
        if self.screening is None:
            return has_agent
        return self.screening == ScreeningAction.ANSWER and has_agent


def check_machine_detection(spec: MachineDetection | None, *, to_phone: bool = True,
                            has_agent: bool = True) -> None:
    """422 ``machine_detection_message_required`` for ``leave_message`` without a message,
    ``machine_detection_message_invalid`` for a message with both or neither of ``text`` and
    ``generate``, ``machine_detection_agent_required`` for what only an agent does (a generated
    message, ``screening: answer``) on a call without one, and
    ``machine_detection_not_supported`` on a call that does not dial a phone (a browser or
    WebSocket leg has no answering machine)."""
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
    message = spec.message
    if message is not None and (message.text is None) == (not message.generate):
        raise ValidationFailed("a message is either `text` or `generate: true`, not both",
                               code="machine_detection_message_invalid",
                               details={"field": "machine_detection.message"})
    if not has_agent:
        for needs, field in ((message is not None and message.generate, "message.generate"),
                             (spec.screening == ScreeningAction.ANSWER, "screening")):
            if needs:
                raise ValidationFailed(f"machine_detection.{field} needs an agent on the call",
                                       code="machine_detection_agent_required",
                                       details={"field": f"machine_detection.{field}"})
