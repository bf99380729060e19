"""Read the README's shell steps and what it says they print; run them as a user would.

A step is a command line of a ```sh block; the `# -> ...` lines under it are what it prints,
with `...` standing for anything. JSON output is compared in one canonical form (one line,
`", "` and `": "` separators), so the README may show curl's compact JSON and the CLI's
indented JSON alike.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Step:
    command: str
    prints: list[str] = field(default_factory=list)


def sh_blocks(markdown: str, section: str) -> list[list[str]]:
    """The lines of each ```sh block under the heading `section` (up to the next heading)."""
    start = markdown.index(f"\n## {section}\n")
    end = markdown.find("\n## ", start + 1)
    text = markdown[start:] if end < 0 else markdown[start:end]
    return [block.strip("\n").splitlines()
            for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)]


def steps_of(lines: list[str]) -> list[Step]:
    steps: list[Step] = []
    for line in lines:
        if line.startswith("# -> "):
            steps[-1].prints.append(line.removeprefix("# -> "))
        elif line.strip() and not line.lstrip().startswith("#"):
            steps.append(Step(line))
    return steps


def canonical(output: str) -> str:
    text = output.strip()
    try:
        return json.dumps(json.loads(text))
    except ValueError:
        return text


def prints_match(expected: str, output: str) -> bool:
    """Whether `output` is what `expected` (with `...` as a wildcard) says."""
    pattern = ".*?".join(re.escape(part) for part in canonical(expected).split("..."))
    return re.fullmatch(pattern, canonical(output), re.S) is not None


def make_recipe(target: str, variables: dict[str, str]) -> list[str]:
    """The Makefile's recipe lines for `target`, with `$(NAME)` replaced from `variables`."""
    text = (REPO / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.M)
    assert match, f"no {target} rule in the Makefile"
    lines = [line.removeprefix("\t") for line in match.group(1).splitlines()]
    return [re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], line) for line in lines]


@dataclass
class Ran:
    step: Step
    rc: int
    output: str


def run_in_one_shell(steps: list[Step], cwd: Path, env: dict[str, str],
                     timeout_s: float) -> list[Ran]:
    """Run the steps one after another in one bash, as typed into a second terminal.

    Each step's output (stdout and stderr) and exit status are kept apart; the shell's state
    (sourced files, variables) carries from one step to the next.
    """
    script = ["set +e"]
    for i, step in enumerate(steps):
        script.append(f"{{ {step.command}\n}} >.step{i}.out 2>&1 </dev/null; echo $? >.step{i}.rc")
    subprocess.run(["bash", "--noprofile", "--norc"], input="\n".join(script) + "\n", text=True,
                   cwd=cwd, env=env, timeout=timeout_s, check=True)
    return [Ran(step, int((cwd / f".step{i}.rc").read_text()),
                (cwd / f".step{i}.out").read_text()) for i, step in enumerate(steps)]
