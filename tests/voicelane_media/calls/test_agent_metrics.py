"""A media node's per-turn agent metrics as EMF: each stage in `Voicelane/Agent` and the
voice-to-voice latency as `Voicelane` `TurnLatencyMs` (the dashboard's turn latency graph)."""

from __future__ import annotations

import json

import pytest
from voicelane_media.calls.agent_runner import emit_metrics


def test_each_turn_emits_its_voice_to_voice_latency(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()
    emit_metrics("app_1", [{"voice_to_voice_ms": 812.5, "stt_final_ms": 300.0},
                           {"voice_to_voice_ms": 640.0}])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith("{")]
    turn = [(r["TurnLatencyMs"], r["app_id"]) for r in records if "TurnLatencyMs" in r]
    assert turn == [([812.5], "app_1"), ([640.0], "app_1")]  # Powertools writes lists
    (directive,) = next(r for r in records if "TurnLatencyMs" in r)["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Voicelane"
    assert directive["Metrics"] == [{"Name": "TurnLatencyMs", "Unit": "Milliseconds"}]
