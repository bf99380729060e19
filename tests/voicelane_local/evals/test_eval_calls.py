"""`voicelane eval`'s fast subset as real calls: the default suite's scenarios marked `fast`
through the public API, SIP/RTP with G.711 and the simulated phone, to a media node running
the agent loop on the local engines (silero, whisper tiny.en, scripted, piper). The scores
come from what the API stored and what the phone heard."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from voicelane_local.evals.command import DEFAULT_SUITE, run_suite, select
from voicelane_local.evals.schema import Thresholds, load_suite
from voicelane_local.evals.scoring import CallScore, SuiteScore
from voicelane_local.media_node import LocalNode, local_settings
from voicelane_local.platform import LocalPlatform

pytestmark = [pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def eval_node(local_platform: LocalPlatform) -> Iterator[LocalNode]:
    base = random.randrange(30000, 39000, 200)
    settings = local_settings(sip_port=0, internal_http_port=0, rtp_port_min=base,
                              rtp_port_max=base + 199,
                              node_id=f"eval-{random.randrange(16**6):06x}", poll_wait_s=1,
                              heartbeat_s=2, ring_timeout_s=10)
    node = LocalNode(settings, local_platform.container.media_gateway).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def fast_run(local_platform: LocalPlatform, eval_node: LocalNode,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[SuiteScore, Path]:
    suite = load_suite(DEFAULT_SUITE)
    scenarios = select(suite, [], fast=True)
    out = tmp_path_factory.mktemp("eval")
    # Strict on behaviour, lenient on speed: a loaded CI machine must not fail on latency.
    limits = Thresholds(min_success_rate=1.0, max_false_interruptions=0,
                        max_missed_interruptions=0, max_early_replies=0)
    return run_suite(local_platform, suite, scenarios, limits, out,
                     concurrency=len(scenarios)), out


def _call(run: SuiteScore, name: str) -> CallScore:
    return next(c for c in run.calls if c.scenario == name)


def test_the_fast_scenarios_pass_with_their_latencies_measured(
        fast_run: tuple[SuiteScore, Path]) -> None:
    run, _ = fast_run
    assert {c.scenario for c in run.calls} == {"booking_tool_call", "interruption"}
    for call in run.calls:
        assert call.success, (call.scenario, [c for c in call.checks if not c.passed])
    assert run.passed, run.failures
    booking = _call(run, "booking_tool_call")
    # two replies heard on the phone; each later than the platform sent it (jitter buffers,
    # VAD hangover), and both stages of the reply were measured
    assert len(booking.heard_v2v_ms) == 2
    for turn in booking.turns:
        assert turn.heard_ms is not None and turn.voice_to_voice_ms is not None
        assert turn.stt_final_ms is not None and turn.tts_first_audio_ms is not None
    assert booking.wer is not None and booking.wer <= 0.5  # whisper heard the script
    interruption = _call(run, "interruption")
    assert len(interruption.barge_in_stop_ms) == 1 and interruption.barge_in_stop_ms[0] > 0
    # the suite's figures are over every reply heard (the interruption call's count depends on
    # where the caller cut in, so it is not fixed)
    assert len(interruption.heard_v2v_ms) >= 1
    assert run.summary["heard_v2v_samples"] == sum(len(c.heard_v2v_ms) for c in run.calls)


def test_the_reports_are_written_and_a_threshold_fails_the_run(
        fast_run: tuple[SuiteScore, Path]) -> None:
    run, out = fast_run
    data = json.loads((out / "report.json").read_text())
    assert data["summary"]["scenarios"] == 2
    assert data["records"]["booking_tool_call"]["call"]["end_reason"] == "agent_ended"
    page = (out / "report.html").read_text()
    assert page.count("<svg") == 5 and "booking_tool_call" in page
    from voicelane_local.evals.scoring import score_suite

    strict = score_suite(run.name, run.calls, Thresholds(max_p50_ms=1.0))
    assert not strict.passed and strict.failures[0].startswith("voice-to-voice p50 (ms)")
