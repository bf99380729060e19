"""Scenario files: the default suite loads whole; bad files are refused before any call, with
every problem named by file and field (and the CLI prints them and exits 1)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from voicelane_local.cli import main
from voicelane_local.evals.command import DEFAULT_SUITE
from voicelane_local.evals.schema import ScenarioError, load_suite

from tests.voicelane_local.readme_steps import REPO

AGENT = """
name: a
greeting: Hi.
tools: [{name: end_call, type: end_call}]
script: {start: main, states: {main: {intents: [{keywords: [bye], tool: {name: end_call}}]}}}
"""


def _suite(tmp_path: Path, **files: str) -> Path:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "a.yaml").write_text(AGENT)
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def test_the_default_suite_has_the_issues_scenarios_and_valid_agents() -> None:
    suite = load_suite(DEFAULT_SUITE)
    names = {s.name for s in suite.scenarios}
    assert len(names) >= 12
    assert {"slow_speaker", "card_number_pauses", "backchannel_long_answer", "cough",
            "noisy_line", "packet_loss_3pct", "dtmf_menu", "interruption", "booking_tool_call",
            "end_by_agent", "transfer_to_person"} <= names
    by_name = {s.name: s for s in suite.scenarios}
    assert by_name["packet_loss_3pct"].network.loss_pct == 3
    assert by_name["cough"].caller[1].expectation == "resume"
    assert by_name["interruption"].caller[1].expectation == "interrupt"
    assert 2 <= sum(s.fast for s in suite.scenarios) <= 3
    assert suite.thresholds.min_success_rate == 0.95


def test_every_problem_is_reported_with_its_file_and_field(tmp_path: Path) -> None:
    root = _suite(tmp_path, one="""
name: one
agent: a
caller:
  - {say: hello, dtmf: "12"}
  - {say: hi, when: later}
network: {loss_pct: 80}
""", two="""
name: two
agent: nobody
caller: [{say: hi}]
""", three="name: [unclosed", four="""
name: four
agent: a
caller: [{say: hi}]
mock_tools: {book: {ok: true}}
expect: {ended_by: agent, tools: []}
""")
    with pytest.raises(ScenarioError) as caught:
        load_suite(root)
    problems = str(caught.value).splitlines()
    text = str(caught.value)
    assert f"{root}/one.yaml: caller.0: Value error, a line needs exactly one of say, dtmf " \
           "or sound" in text
    assert f"{root}/one.yaml: caller.1.when: Input should be 'after_agent' or 'barge_in'" in text
    assert f"{root}/one.yaml: network.loss_pct: Input should be less than or equal to 50" in text
    assert f"{root}/two.yaml: agent: no agent file 'nobody'" in text
    assert f"{root}/three.yaml: not valid YAML" in text
    assert f"{root}/four.yaml: expect.tools: Extra inputs are not permitted" in text
    assert len([p for p in problems if p.startswith(str(root))]) >= 6


def test_an_agent_the_api_would_refuse_and_a_mock_for_a_missing_tool_are_refused(
        tmp_path: Path) -> None:
    root = _suite(tmp_path, one="name: one\nagent: a\ncaller: [{say: hi}]\n"
                                "mock_tools: {book: {ok: true}}\n")
    with pytest.raises(ScenarioError, match="mock_tools/real_tools: the agent has no tool book"):
        load_suite(root)
    (root / "agents" / "a.yaml").write_text("name: a\nfirst_speaker: nobody\n")
    with pytest.raises(ScenarioError, match=r"agents/a.yaml: first_speaker: Input should be"):
        load_suite(root)


def test_the_cli_checks_a_suite_and_prints_each_problem(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "default", "--check"]) == 0
    assert "scenario(s) valid" in capsys.readouterr().out
    root = _suite(tmp_path, one="name: One\nagent: a\ncaller: []\n")
    result = subprocess.run([str(REPO / ".venv" / "bin" / "voicelane"), "eval", str(root),
                             "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert "one.yaml: name: String should match pattern" in result.stderr
    assert "one.yaml: caller: List should have at least 1 item" in result.stderr
    assert main(["eval", "default", "--only", "nope", "--check"]) == 1
    assert "no scenario named nope" in capsys.readouterr().err


def test_the_scenario_in_docs_agents_md_is_valid(tmp_path: Path) -> None:
    import re

    import yaml
    from voicelane_local.evals.schema import Scenario

    text = (REPO / "docs" / "agents.md").read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
    assert blocks
    for block in blocks:
        scenario = Scenario.model_validate(yaml.safe_load(block))
        assert [line.expectation for line in scenario.caller] == [
            "reply", "reply", "resume", "resume", "reply", "reply"]
