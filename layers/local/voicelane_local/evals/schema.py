"""The eval's file formats: a suite (thresholds), agents, and scenario files, all YAML.

A scenario is one phone call: who calls (lines with timing, pauses, interruptions, DTMF,
sounds, a voice speed), over what line (loss, jitter, background noise), to which agent, and
what must happen (tools called with arguments, who ends the call, a transfer, words the agent
must or must not say). Files are validated whole; every problem is reported as
``file: field.path: message`` (``ScenarioError``) before any call is placed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ScenarioError(ValueError):
    """A suite, agent or scenario file that cannot be run; ``str()`` lists each problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Pause(_Strict):
    """Silence inside a line (someone reading a card number in groups)."""

    pause_ms: int = Field(ge=50, le=10_000)


Expectation = Literal["reply", "interrupt", "resume", "none"]


class Line(_Strict):
    """One thing the caller does: ``say`` (text, or text pieces and pauses), ``dtmf`` (keys
    sent as RFC 4733 events) or ``sound`` (a cough).

    ``when``: ``after_agent`` waits until the agent has spoken and then been quiet for
    ``after_silence_ms`` (else the scenario's ``quiet_ms``); ``barge_in`` starts once the agent has talked ``barge_after_ms``.
    ``expect`` says what the agent should do: ``reply`` (answer it: a latency sample),
    ``interrupt`` (stop talking and take the caller's turn), ``resume`` (pause at most, then go
    on: a backchannel or a cough), ``none``. The default follows from the line: an
    after-agent line expects a reply, a spoken barge-in an interruption, a sound a resume.
    """

    say: str | list[str | Pause] | None = None
    dtmf: str | None = Field(default=None, pattern=r"^[0-9*#A-Da-d]{1,32}$")
    sound: Literal["cough"] | None = None
    when: Literal["after_agent", "barge_in"] = "after_agent"
    after_silence_ms: int | None = Field(default=None, ge=100, le=10_000)
    barge_after_ms: int = Field(default=1200, ge=0, le=30_000)
    expect: Expectation | None = None
    wer: bool = True  # count this line in the word error rate (False: numbers, names)

    @model_validator(mode="after")
    def _one_action(self) -> Line:
        given = [k for k in ("say", "dtmf", "sound") if getattr(self, k) not in (None, "", [])]
        if len(given) != 1:
            raise ValueError("a line needs exactly one of say, dtmf or sound")
        if isinstance(self.say, list) and not any(isinstance(p, str) for p in self.say):
            raise ValueError("say needs some text, not only pauses")
        return self

    @property
    def expectation(self) -> Expectation:
        if self.expect is not None:
            return self.expect
        if self.sound is not None:
            return "resume"
        return "interrupt" if self.when == "barge_in" else "reply"

    @property
    def text(self) -> str:
        """The words spoken (pauses dropped), or what the line does."""
        if self.dtmf:
            return f"[dtmf {self.dtmf}]"
        if self.sound:
            return f"[{self.sound}]"
        pieces = [self.say] if isinstance(self.say, str) else self.say or []
        return " ".join(p.strip() for p in pieces if isinstance(p, str))


class Voice(_Strict):
    """The caller's voice: piper's joe voice at ``speed`` (0.5 slow .. 1.5 fast)."""

    engine: Literal["piper", "espeak"] = "piper"
    speed: float = Field(default=1.0, ge=0.4, le=2.0)


class Network(_Strict):
    """The caller's uplink: packets lost (%) and delayed by 0..jitter_ms (seeded)."""

    loss_pct: float = Field(default=0.0, ge=0, le=50)
    jitter_ms: float = Field(default=0.0, ge=0, le=500)
    seed: int = 7


class Background(_Strict):
    """Noise on the line for the whole call at ``noise_dbfs`` (-70 .. -10): ``white`` noise, or
    ``babble`` (several other voices talking at once, as in a call centre or a cafe)."""

    noise_dbfs: float = Field(ge=-70, le=-10)
    kind: Literal["white", "babble"] = "white"


class ToolExpectation(_Strict):
    """A tool the agent must call; ``arguments`` must all be present with these values
    (strings compared case-insensitively); other arguments are allowed."""

    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)


class Expect(_Strict):
    tool_calls: list[ToolExpectation] = Field(default_factory=list)
    ended_by: Literal["agent", "caller", "transfer"] | None = None
    transfer_to: str | None = None
    must_say: list[str] = Field(default_factory=list)
    must_not_say: list[str] = Field(default_factory=list)


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    description: str = ""
    agent: str | dict[str, Any]
    caller: list[Line] = Field(min_length=1)
    voice: Voice = Field(default_factory=Voice)
    network: Network = Field(default_factory=Network)
    background: Background | None = None
    # How long the agent must be quiet before an after-agent line: longer than the gaps
    # between an agent's sentences (a tool call, TTS under load), or the caller barges in.
    quiet_ms: int = Field(default=1500, ge=100, le=10_000)
    # The agent's HTTP tools are answered by the eval's loopback server (``mock_tools``: the
    # JSON each returns); tools named in ``real_tools`` keep their URL and are really called.
    mock_tools: dict[str, dict[str, Any]] = Field(default_factory=dict)
    real_tools: list[str] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)
    fast: bool = False  # part of the quick subset (`voicelane eval --fast`, make test)
    timeout_s: float = Field(default=120, ge=10, le=900)


class Thresholds(_Strict):
    """Limits under which `voicelane eval` exits 1 (None: not checked)."""

    min_success_rate: float | None = Field(default=1.0, ge=0, le=1)
    max_p50_ms: float | None = None
    max_p95_ms: float | None = None
    max_barge_in_p95_ms: float | None = None
    max_false_interruptions: int | None = 0
    max_missed_interruptions: int | None = 0
    max_early_replies: int | None = 0
    max_wer: float | None = None


class SuiteFile(_Strict):
    name: str = "suite"
    description: str = ""
    thresholds: Thresholds = Field(default_factory=Thresholds)


class Suite(BaseModel):
    """A loaded suite: its settings, scenarios (agents resolved to API bodies) and folder."""

    name: str
    root: Path
    thresholds: Thresholds
    scenarios: list[Scenario]
    agents: dict[str, dict[str, Any]]  # scenario name -> the agent body to POST


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise ScenarioError(f"{path}: {exc.strerror}") from exc


def _problems(path: Path, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        out.append(f"{path}: {where}: {err['msg']}")
    return out


def _agent(scenario: Scenario, source: Path, root: Path) -> dict[str, Any]:
    """The agent body: inline, a file next to the scenario, or ``agents/NAME.yaml``."""
    from voicelane.domain.agent import AgentSpec

    if isinstance(scenario.agent, dict):
        body, where = scenario.agent, source
    else:
        candidates = [source.parent / scenario.agent, root / "agents" / f"{scenario.agent}.yaml",
                      root / scenario.agent]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise ScenarioError(f"{source}: agent: no agent file {scenario.agent!r} (looked for "
                                + ", ".join(str(c) for c in candidates) + ")")
        body, where = _yaml(found), found
    if not isinstance(body, dict):
        raise ScenarioError(f"{where}: an agent is a mapping (the body of POST /v1/agents)")
    try:
        AgentSpec.model_validate(body)
    except ValidationError as exc:
        raise ScenarioError("\n".join(_problems(where, exc))) from exc
    names = {t.get("name") for t in body.get("tools") or []}
    missing = [n for n in [*scenario.mock_tools, *scenario.real_tools] if n not in names]
    if missing:
        raise ScenarioError(f"{source}: mock_tools/real_tools: the agent has no tool {', '.join(missing)}")
    return body


def load_suite(path: Path) -> Suite:
    """A suite folder (``suite.yaml`` optional, ``scenarios/*.yaml`` or ``*.yaml``,
    ``agents/``) or one scenario file. Raises ScenarioError listing every problem."""
    root = path if path.is_dir() else path.parent
    settings = SuiteFile(name=root.name if path.is_dir() else path.stem)
    files = [path]
    if path.is_dir():
        if (root / "suite.yaml").is_file():
            try:
                settings = SuiteFile.model_validate(_yaml(root / "suite.yaml") or {})
            except ValidationError as exc:
                raise ScenarioError("\n".join(_problems(root / "suite.yaml", exc))) from exc
        folder = root / "scenarios" if (root / "scenarios").is_dir() else root
        files = sorted(p for p in folder.glob("*.y*ml") if p.name != "suite.yaml")
        if not files:
            raise ScenarioError(f"{path}: no scenario files (*.yaml)")
    elif not path.is_file():
        raise ScenarioError(f"{path}: no such suite folder or scenario file")
    problems: list[str] = []
    scenarios: list[Scenario] = []
    agents: dict[str, dict[str, Any]] = {}
    for file in files:
        try:
            scenario = Scenario.model_validate(_yaml(file))
            if scenario.name in agents:
                raise ScenarioError(f"{file}: name: {scenario.name!r} is used twice")
            agents[scenario.name] = _agent(scenario, file, root)
            scenarios.append(scenario)
        except ValidationError as exc:
            problems.extend(_problems(file, exc))
        except ScenarioError as exc:
            problems.append(str(exc))
    if problems:
        raise ScenarioError("\n".join(problems))
    return Suite(name=settings.name, root=root, thresholds=settings.thresholds,
                 scenarios=scenarios, agents=agents)
