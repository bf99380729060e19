"""Scores a scenario's call from what it left behind (pure: records in, numbers out).

- **Task success**: every check passes: the call completed; each expected tool was called
  with the expected arguments; the call was ended by whom the scenario says; the transfer
  target; words the agent had to say (in what the caller heard) and must not say; every line
  expecting a reply got one; no false or missed interruption and no early reply.
- **Voice-to-voice as heard**: per line expecting a reply, from the end of the caller's voice
  to the first agent audio the phone heard (``agent_reply_ms``); DTMF lines are left out.
- **Barge-in stop**: per interrupting line, from the caller's voice onset to the agent's
  audio stopping at the phone (``agent_stop_ms``).
- **Interruptions**: ``call.agent.interrupted`` events against the lines expected to
  interrupt: more is a false interruption (a cough, a backchannel, noise cut the agent off),
  fewer a missed one (the agent talked over a real interruption).
- **Early replies**: agent speech heard starting while the caller was still inside a line
  (mid-sentence, or in the pause of a card number read in groups): a reply to an unfinished
  turn.
- **WER**: the caller's recognised turns (the transcript) against the script's spoken lines,
  word-level edit distance after normalising case, punctuation and digits. Lines with
  ``wer: false``, sounds, backchannels and redacted turns are left out.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from voicelane_local.evals.record import CallRecord
from voicelane_local.evals.schema import Scenario, Thresholds

_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class TurnLatency:
    """One agent reply's latency parts (ms), for the waterfall; ``heard_ms`` from the phone."""

    turn_index: int
    caller_text: str = ""
    stt_final_ms: float | None = None
    endpoint_ms: float | None = None
    llm_first_token_ms: float | None = None
    tts_first_audio_ms: float | None = None
    voice_to_voice_ms: float | None = None
    heard_ms: float | None = None


@dataclass
class CallScore:
    scenario: str
    success: bool
    checks: list[Check]
    heard_v2v_ms: list[float] = field(default_factory=list)
    platform_v2v_ms: list[float] = field(default_factory=list)
    barge_in_stop_ms: list[float] = field(default_factory=list)
    false_interruptions: int = 0
    missed_interruptions: int = 0
    early_replies: int = 0
    onset_pauses: int = 0  # the agent paused for a caller sound too short to be speech
    wer: float | None = None
    wer_words: int = 0
    wer_errors: int = 0
    turns: list[TurnLatency] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped, each digit spelled ("4111" -> four one one one)."""
    text = re.sub(r"\d", lambda m: f" {_DIGITS[int(m.group())]} ", text.lower())
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.replace("-", " "))


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 1)


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip().lower() == actual.strip().lower()
    return bool(expected == actual)


def _heard_agent_text(transcript: dict[str, Any]) -> str:
    parts = [(t.get("heard_text") if t.get("interrupted") else t.get("text")) or ""
             for t in transcript.get("turns", []) if t.get("role") == "agent"]
    return " ".join(words(" ".join(parts)))


def _expect_checks(scenario: Scenario, record: CallRecord) -> list[Check]:
    expect, checks = scenario.expect, []
    calls = [c for t in record.transcript.get("turns", []) if t.get("role") == "agent"
             for c in t.get("tool_calls") or []]
    for want in expect.tool_calls:
        hit = any(c.get("name") == want.name and all(
            _matches(v, (c.get("arguments") or {}).get(k)) for k, v in want.arguments.items())
            for c in calls)
        seen = [f"{c.get('name')}({c.get('arguments')})" for c in calls] or ["no tool calls"]
        checks.append(Check(f"tool {want.name}", hit, f"wanted {want.arguments}; saw "
                            + ", ".join(seen)))
    reason = record.call.get("end_reason")
    if expect.ended_by is not None:
        ok = {"agent": reason == "agent_ended", "transfer": reason == "transferred",
              "caller": record.phone.get("hung_up_by") == "phone"}[expect.ended_by]
        checks.append(Check(f"ended by {expect.ended_by}", ok, f"end_reason {reason}, "
                            f"hung up by {record.phone.get('hung_up_by')}"))
    if expect.transfer_to is not None:
        target = record.phone.get("refer_to") or record.transcript.get("transferred_to") or ""
        checks.append(Check("transfer target", expect.transfer_to in target,
                            f"REFER to {target or 'none'}"))
    heard = _heard_agent_text(record.transcript)
    for phrase in expect.must_say:
        checks.append(Check(f"says {phrase!r}", " ".join(words(phrase)) in heard, heard[-200:]))
    for phrase in expect.must_not_say:
        checks.append(Check(f"never says {phrase!r}", " ".join(words(phrase)) not in heard,
                            heard[-200:]))
    return checks


def _wer(scenario: Scenario, transcript: dict[str, Any]) -> tuple[float | None, int, int]:
    ref = [w for line in scenario.caller
           if line.say and line.wer and line.expectation in ("reply", "interrupt")
           for w in words(line.text)]
    hyp = [w for t in transcript.get("turns", []) if t.get("role") == "caller"
           and "redacted" not in (t.get("text") or "") for w in words(t.get("text") or "")]
    if not ref:
        return None, 0, 0
    errors = edit_distance(ref, hyp)
    return round(errors / len(ref), 3), len(ref), errors


def turn_latencies(transcript: dict[str, Any],
                   heard: list[float | None] | None = None) -> list[TurnLatency]:
    """Each agent reply's latency parts from the transcript's metrics; ``heard`` (the phone's
    reply latency per caller line expecting a reply, in order) is paired with the replies
    when there is one per reply, else left out."""
    turns = transcript.get("turns", [])
    agent_at = [i for i, t in enumerate(turns) if t.get("role") == "agent"]
    out = []
    for m in transcript.get("metrics", []):
        if m.get("voice_to_voice_ms") is None:
            continue
        index = int(m["turn_index"])  # the agent's turns count from 1 (the greeting)
        said = ""
        if 0 < index <= len(agent_at):
            before = [t for t in turns[:agent_at[index - 1]]
                      if t.get("role") in ("caller", "dtmf")]
            said = before[-1]["text"] if before else ""
        out.append(TurnLatency(index, said, m.get("stt_final_ms"), m.get("endpoint_ms"),
                               m.get("llm_first_token_ms"), m.get("tts_first_audio_ms"),
                               m.get("voice_to_voice_ms")))
    if heard is not None and len(heard) == len(out):
        for turn, value in zip(out, heard, strict=True):
            turn.heard_ms = value
    return out


def score_call(scenario: Scenario, record: CallRecord) -> CallScore:
    """The scenario's score from its record."""
    if record.error is not None:
        return CallScore(scenario.name, False, [Check("ran", False, record.error)],
                         seconds=record.seconds, error=record.error)
    lines = record.phone.get("lines", [])
    spans = record.phone.get("agent_speech", [])
    checks = [Check("call completed", record.call.get("status") == "completed",
                    f"status {record.call.get('status')}, end_reason "
                    f"{record.call.get('end_reason')}")]
    checks += _expect_checks(scenario, record)
    score = CallScore(scenario.name, False, checks, seconds=record.seconds)
    heard: list[float | None] = []
    unanswered = []
    for spec, line in zip(scenario.caller, lines, strict=False):
        want = spec.expectation
        if want in ("reply", "interrupt"):
            heard.append(line.get("agent_reply_ms"))
            if line.get("agent_reply_ms") is None:
                unanswered.append(spec.text)
            elif not spec.dtmf:
                score.heard_v2v_ms.append(float(line["agent_reply_ms"]))
        if want == "interrupt" and line.get("agent_stop_ms") is not None:
            score.barge_in_stop_ms.append(float(line["agent_stop_ms"]))
        if spec.when == "after_agent" and not spec.dtmf:
            start, end = float(line["start_s"]), float(line["end_s"])
            score.early_replies += sum(1 for a, _ in spans if start + 0.1 < a < end)
    if len(lines) < len(scenario.caller):
        unanswered.extend(s.text for s in scenario.caller[len(lines):])
    checks.append(Check("every line got its reply", not unanswered,
                        "no reply heard to: " + "; ".join(unanswered) if unanswered else ""))
    types = [e.get("type") for e in record.events]
    expected = sum(1 for s in scenario.caller if s.expectation == "interrupt")
    actual = types.count("call.agent.interrupted")
    score.false_interruptions = max(0, actual - expected)
    score.missed_interruptions = max(0, expected - actual)
    checks.append(Check("interruptions", actual == expected,
                        f"{actual} interruption(s), {expected} expected; "
                        f"{types.count('call.agent.interruption.ignored')} resumed"))
    checks.append(Check("no early reply", score.early_replies == 0,
                        f"{score.early_replies} agent reply(ies) began inside a caller line"))
    score.platform_v2v_ms = [float(m["voice_to_voice_ms"]) for m in
                             record.transcript.get("metrics", [])
                             if m.get("voice_to_voice_ms") is not None]
    score.onset_pauses = sum(int(m.get("onset_pauses") or 0)
                             for m in record.transcript.get("metrics", []))
    score.turns = turn_latencies(record.transcript, heard)
    score.wer, score.wer_words, score.wer_errors = _wer(scenario, record.transcript)
    score.success = all(c.passed for c in checks)
    return score


@dataclass
class SuiteScore:
    name: str
    calls: list[CallScore]
    thresholds: Thresholds
    summary: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {"suite": self.name, "passed": self.passed, "failures": self.failures,
                "thresholds": self.thresholds.model_dump(), "summary": self.summary,
                "calls": [c.as_dict() for c in self.calls]}


def score_suite(name: str, calls: list[CallScore], thresholds: Thresholds) -> SuiteScore:
    """Totals over the calls, and the thresholds they fail (each a sentence)."""
    heard = [v for c in calls for v in c.heard_v2v_ms]
    platform = [v for c in calls for v in c.platform_v2v_ms]
    stops = [v for c in calls for v in c.barge_in_stop_ms]
    ref_words = sum(c.wer_words for c in calls)
    summary: dict[str, Any] = {
        "scenarios": len(calls), "passed": sum(c.success for c in calls),
        "success_rate": round(sum(c.success for c in calls) / len(calls), 3) if calls else 0.0,
        "heard_v2v_p50_ms": percentile(heard, 50), "heard_v2v_p95_ms": percentile(heard, 95),
        "heard_v2v_samples": len(heard),
        "platform_v2v_p50_ms": percentile(platform, 50),
        "platform_v2v_p95_ms": percentile(platform, 95),
        "barge_in_stop_p50_ms": percentile(stops, 50),
        "barge_in_stop_p95_ms": percentile(stops, 95), "barge_in_samples": len(stops),
        "false_interruptions": sum(c.false_interruptions for c in calls),
        "missed_interruptions": sum(c.missed_interruptions for c in calls),
        "early_replies": sum(c.early_replies for c in calls),
        "onset_pauses": sum(c.onset_pauses for c in calls),
        "wer": round(sum(c.wer_errors for c in calls) / ref_words, 3) if ref_words else None,
    }
    t, failures = thresholds, []

    def over(value: float | None, limit: float | None, what: str) -> None:
        if limit is not None and value is not None and value > limit:
            failures.append(f"{what} {value:g} is over the limit {limit:g}")

    if t.min_success_rate is not None and summary["success_rate"] < t.min_success_rate:
        failures.append(f"success rate {summary['success_rate']:g} is under "
                        f"{t.min_success_rate:g}")
    over(summary["heard_v2v_p50_ms"], t.max_p50_ms, "voice-to-voice p50 (ms)")
    over(summary["heard_v2v_p95_ms"], t.max_p95_ms, "voice-to-voice p95 (ms)")
    over(summary["barge_in_stop_p95_ms"], t.max_barge_in_p95_ms, "barge-in stop p95 (ms)")
    over(summary["false_interruptions"], t.max_false_interruptions, "false interruptions")
    over(summary["missed_interruptions"], t.max_missed_interruptions, "missed interruptions")
    over(summary["early_replies"], t.max_early_replies, "early replies")
    over(summary["wer"], t.max_wer, "WER")
    return SuiteScore(name, calls, thresholds, summary, failures)
