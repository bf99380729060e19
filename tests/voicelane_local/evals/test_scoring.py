"""Scoring a call from what it left behind (the record's shapes are the API's and the
simulated phone's), the suite's totals and thresholds, and the report files."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from voicelane_local.evals import report
from voicelane_local.evals.plots import waterfall_svg
from voicelane_local.evals.record import CallRecord
from voicelane_local.evals.schema import Scenario, Thresholds
from voicelane_local.evals.scoring import (
    TurnLatency,
    edit_distance,
    percentile,
    score_call,
    score_suite,
    words,
)

SCENARIO = Scenario.model_validate({
    "name": "booking", "agent": "front-desk",
    "caller": [{"say": "I would like to book on Tuesday please."},
               {"say": "Sorry, what are your hours?", "when": "barge_in"},
               {"say": "Uh-huh.", "when": "barge_in", "expect": "resume"},
               {"say": "Goodbye."}],
    "expect": {"tool_calls": [{"name": "book_slot", "arguments": {"day": "tuesday"}}],
               "ended_by": "agent", "must_say": ["booked for Tuesday"],
               "must_not_say": ["sorry"]}})


def _record() -> CallRecord:
    """A call that did everything the scenario asks."""
    turns = [
        {"role": "agent", "text": "Hello, how can I help?", "start_ms": 0, "end_ms": 2000},
        {"role": "caller", "text": "I would like to book on Tuesday, please.", "start_ms": 3000,
         "end_ms": 5000},
        {"role": "agent", "text": "You are booked for Tuesday. We also offer cleanings.",
         "heard_text": "You are booked for Tuesday.", "interrupted": True, "start_ms": 6000,
         "end_ms": 8000, "tool_calls": [{"name": "book_slot", "arguments": {"day": "Tuesday"},
                                         "result": {"reference": "AC-1"}}]},
        {"role": "caller", "text": "What are your hours?", "start_ms": 8100, "end_ms": 9000},
        {"role": "agent", "text": "Eight to six.", "start_ms": 10000, "end_ms": 12000},
        {"role": "caller", "text": "Goodbye.", "start_ms": 13000, "end_ms": 13500},
        {"role": "agent", "text": "Goodbye!", "start_ms": 14300, "end_ms": 15000},
    ]
    metrics = [{"turn_index": 1, "tts_first_audio_ms": 300},  # the greeting
               {"turn_index": 2, "stt_final_ms": 600, "endpoint_ms": 700,
                "llm_first_token_ms": 1, "tts_first_audio_ms": 150, "voice_to_voice_ms": 860},
               {"turn_index": 3, "stt_final_ms": 500, "endpoint_ms": 650,
                "tts_first_audio_ms": 140, "voice_to_voice_ms": 800, "barge_in_stop_ms": 20},
               {"turn_index": 4, "stt_final_ms": 400, "endpoint_ms": 600,
                "tts_first_audio_ms": 100, "voice_to_voice_ms": 720}]
    lines = [
        {"text": "I would like to book on Tuesday please.", "when": "after_agent", "start_s": 3.0,
         "end_s": 5.0, "agent_reply_ms": 1000.0, "agent_stop_ms": None},
        {"text": "Sorry, what are your hours?", "when": "barge_in", "start_s": 7.5, "end_s": 8.9,
         "agent_reply_ms": 1100.0, "agent_stop_ms": 400.0},
        {"text": "Uh-huh.", "when": "barge_in", "start_s": 11.0, "end_s": 11.3,
         "agent_reply_ms": 300.0, "agent_stop_ms": 250.0},
        {"text": "Goodbye.", "when": "after_agent", "start_s": 13.0, "end_s": 13.4,
         "agent_reply_ms": 900.0, "agent_stop_ms": None},
    ]
    return CallRecord(
        scenario="booking",
        call={"status": "completed", "end_reason": "agent_ended"},
        events=[{"type": "call.agent.interrupted"}, {"type": "call.agent.interruption.ignored"}],
        transcript={"turns": turns, "metrics": metrics},
        phone={"lines": lines, "agent_speech": [[0.1, 2.0], [6.0, 7.9], [10.0, 12.0],
                                                [14.3, 15.0]],
               "hung_up_by": "platform", "refer_to": None}, seconds=20.0)


def test_a_call_that_did_everything_the_scenario_asks_passes_with_its_figures() -> None:
    score = score_call(SCENARIO, _record())
    assert score.success, [c for c in score.checks if not c.passed]
    assert score.heard_v2v_ms == [1000.0, 1100.0, 900.0]  # replies; not the backchannel
    assert score.barge_in_stop_ms == [400.0]  # only the line meant to interrupt
    assert score.platform_v2v_ms == [860, 800, 720]
    assert (score.false_interruptions, score.missed_interruptions, score.early_replies) == (0, 0, 0)
    # The waterfall pairs each reply with what the phone heard, in order
    assert [(t.turn_index, t.heard_ms) for t in score.turns] == [(2, 1000.0), (3, 1100.0),
                                                                (4, 900.0)]
    assert [t.caller_text for t in score.turns] == ["I would like to book on Tuesday, please.",
                                                    "What are your hours?", "Goodbye."]
    # "sorry" (caller's words) differs from "Sorry?" only by case/punctuation: 3 ref lines
    assert score.wer_words == len(words("I would like to book on Tuesday please. Sorry, what "
                                        "are your hours? Goodbye."))
    assert score.wer_errors == 1 and score.wer == round(1 / score.wer_words, 3)  # "sorry" lost


@pytest.mark.parametrize(("change", "failed"), [
    (lambda r: r.call.update(end_reason="hangup_by_callee"), "ended by agent"),
    (lambda r: r.transcript["turns"][2].update(tool_calls=[{"name": "book_slot", "arguments":
                                                           {"day": "Friday"}}]), "tool book_slot"),
    (lambda r: r.transcript["turns"][2].update(heard_text="You are"), "says 'booked for Tuesday'"),
    (lambda r: r.transcript["turns"][4].update(text="Sorry, eight to six."), "never says 'sorry'"),
    (lambda r: r.phone["lines"][3].update(agent_reply_ms=None), "every line got its reply"),
    (lambda r: r.call.update(status="failed"), "call completed"),
])
def test_each_unmet_expectation_fails_the_call_and_names_itself(change: Any, failed: str) -> None:
    record = _record()
    change(record)
    score = score_call(SCENARIO, record)
    assert not score.success
    assert [c.name for c in score.checks if not c.passed] == [failed]


def test_false_and_missed_interruptions_and_early_replies_are_counted() -> None:
    cut_off = _record()  # the backchannel also cut the agent off
    cut_off.events.append({"type": "call.agent.interrupted"})
    score = score_call(SCENARIO, cut_off)
    assert (score.false_interruptions, score.missed_interruptions) == (1, 0) and not score.success
    talked_over = _record()  # the agent kept talking over the real interruption
    talked_over.events = [e for e in talked_over.events if e["type"] != "call.agent.interrupted"]
    assert score_call(SCENARIO, talked_over).missed_interruptions == 1
    early = _record()  # the agent started speaking inside the caller's first line (a pause)
    early.phone["agent_speech"].insert(1, [4.0, 4.6])
    score = score_call(SCENARIO, early)
    assert score.early_replies == 1
    assert [c.name for c in score.checks if not c.passed] == ["no early reply"]


def test_a_scenario_that_could_not_run_is_a_failed_call_with_its_reason() -> None:
    score = score_call(SCENARIO, CallRecord("booking", error="RuntimeError: POST /v1/agents: 422"))
    assert not score.success and score.checks[0].detail.endswith("422")


def test_words_edit_distance_and_percentiles() -> None:
    assert words("My card is 4111, OK? Uh-huh.") == ["my", "card", "is", "four", "one", "one",
                                                     "one", "ok", "uh", "huh"]
    assert edit_distance(["a", "b", "c", "d"], ["a", "x", "c"]) == 2
    assert edit_distance([], ["a"]) == 1
    assert percentile([], 50) is None
    assert percentile([100, 200, 300, 400], 50) == 250.0
    assert percentile([50, 10, 40, 20, 30], 95) == 48.0  # numpy: 40 + 0.8 * 10


def test_thresholds_fail_the_suite_with_a_sentence_each() -> None:
    good = score_call(SCENARIO, _record())
    bad_record = _record()
    bad_record.phone["lines"][0]["agent_reply_ms"] = 5000.0
    bad_record.call["end_reason"] = "hangup_by_callee"
    bad = score_call(SCENARIO, bad_record)
    suite = score_suite("s", [good, bad], Thresholds(min_success_rate=0.95, max_p95_ms=3000))
    assert suite.summary["success_rate"] == 0.5
    assert suite.summary["heard_v2v_samples"] == 6
    assert suite.failures == ["success rate 0.5 is under 0.95",
                              f"voice-to-voice p95 (ms) {suite.summary['heard_v2v_p95_ms']:g} "
                              "is over the limit 3000"]
    assert score_suite("s", [good], Thresholds(max_p95_ms=3000)).passed


def test_the_report_is_json_and_one_self_contained_html_page(tmp_path: Path) -> None:
    record = _record()
    failed = copy.deepcopy(record)
    failed.scenario = "other"
    failed.call["end_reason"] = "transferred"
    calls = [score_call(SCENARIO, record), score_call(SCENARIO.model_copy(update={
        "name": "other"}), failed)]
    suite = score_suite("default", calls, Thresholds())
    json_path, html_path = report.write(suite, {"booking": record, "other": failed}, tmp_path)
    data = json.loads(json_path.read_text())
    assert data["summary"]["passed"] == 1 and data["passed"] is False
    assert data["calls"][0]["turns"][0]["heard_ms"] == 1000.0
    assert data["records"]["other"]["call"]["end_reason"] == "transferred"
    page = html_path.read_text()
    assert page.count("<svg") == 5  # distribution + (waterfall, timeline) per call
    # nothing fetched: no scripts, stylesheets, images or fonts from anywhere
    assert not re.search(r"<script|<link|<img|@import|url\(", page)
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"] * 5
    assert "ended by agent" in page and "FAILED" in page
    assert "other: ended by agent failed" in report.table(suite)


def test_the_waterfall_draws_one_bar_per_measured_stage() -> None:
    svg = waterfall_svg([TurnLatency(1, "hi", 600, 700, 1, 150, 860, 1000),
                         TurnLatency(2, "bye", None, None, None, None, 500, None)])
    bars = re.findall(r"<title>([^<]+): (\d+) ms</title>", svg)
    assert bars == [("STT final", "600"), ("endpoint", "700"), ("LLM 1st token", "1"),
                    ("TTS 1st audio", "150"), ("sent (platform)", "860"),
                    ("heard (phone)", "1000"), ("sent (platform)", "500")]


def test_make_demo_writes_the_evals_latency_plot_for_its_call(tmp_path: Path) -> None:
    from voicelane_local.demo import _write_plots
    from voicelane_media.sim import LineResult, PhoneReport

    record = _record()
    phone = PhoneReport(answered_at=100.0, lines=[
        LineResult("book", "after_agent", 103.0, 105.0, agent_reply_ms=1000.0),
        LineResult("hours?", "barge_in", 107.5, 108.9, agent_reply_ms=1100.0,
                   agent_stop_ms=400.0),
        LineResult("bye", "after_agent", 113.0, 113.4, agent_reply_ms=900.0)],
        spans=[])
    _write_plots(record.transcript, phone, tmp_path)
    svg = (tmp_path / "latency.svg").read_text()
    assert svg.startswith("<svg") and "make demo: per-turn latency" in svg
    assert re.findall(r"<title>heard \(phone\): (\d+) ms</title>", svg) == ["1000", "1100", "900"]
    assert "What are your hours?" in svg
    assert (tmp_path / "timeline.svg").read_text().count("<rect") >= 4
