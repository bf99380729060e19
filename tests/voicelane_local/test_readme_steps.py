"""The README's "Using the local platform" steps, run as written against `make dev`.

Terminal 1 is the Makefile's `dev` recipe (what `make dev` runs) with `DEV_PORT=0`, in a fresh
directory holding only the project's `.venv`; terminal 2 is one bash in that directory running
each README line in turn, with an environment that has no VOICELANE_* or AWS_* variables (a
newcomer's shell). Each step must exit 0 and print what the README says under it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.voicelane_local.readme_steps import (
    REPO,
    Step,
    make_recipe,
    prints_match,
    run_in_one_shell,
    sh_blocks,
    steps_of,
)

SECTION = "Using the local platform"


def newcomer_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("VOICELANE_", "AWS_", "POWERTOOLS_"))}


def test_the_readme_names_its_steps() -> None:
    steps = steps_of(sh_blocks((REPO / "README.md").read_text(), SECTION)[0])
    assert steps[0].command.split("#")[0].strip() == "make dev"
    assert steps[1].command.startswith("source .voicelane/dev.env")
    assert len(steps) >= 6 and sum(1 for s in steps if s.prints) >= 4


def test_what_a_step_prints_is_checked() -> None:
    assert prints_match('{"data": [], ...}', '{"data":[],"limit":20}')
    assert not prints_match('{"data": [], ...}', '{"data":[{"id":"call_1"}]}')
    assert prints_match('{"id": "call_...", ..., "status": "queued", ...}',
                        '{\n  "id": "call_01",\n  "app_id": "a",\n  "status": "queued",\n'
                        '  "to": "+1"\n}')
    assert not prints_match('{"id": "call_...", ..., "status": "queued", ...}',
                            '{"error": {"code": "from_number_not_owned"}}')


def test_the_readme_steps_work_as_written(tmp_path: Path) -> None:
    first, *second = steps_of(sh_blocks((REPO / "README.md").read_text(), SECTION)[0])
    assert first.command.split("#")[0].strip() == "make dev"
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    [recipe] = make_recipe("dev", {"BIN": ".venv/bin", "DEV_PORT": "0"})
    base = random.randrange(40000, 49000, 200)  # `make dev` may be running here: not 5060
    dev_env = {**newcomer_env(), "VOICELANE_MEDIA_SIP_PORT": "0",
               "VOICELANE_MEDIA_RTP_PORT_MIN": str(base),
               "VOICELANE_MEDIA_RTP_PORT_MAX": str(base + 199)}
    dev = subprocess.Popen(["bash", "-c", f"exec {recipe}"], cwd=tmp_path, env=dev_env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    env_file = tmp_path / ".voicelane" / "dev.env"
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists():
            assert dev.poll() is None, f"make dev ended: {dev.communicate()[0]}"
            assert time.monotonic() < deadline, "make dev wrote no .voicelane/dev.env in 30 s"
            time.sleep(0.1)
        ran = run_in_one_shell(second, tmp_path, newcomer_env(), timeout_s=60)
    finally:
        dev.send_signal(signal.SIGINT)  # Ctrl-C in terminal 1
        try:  # it stops its node, API and moto server: slow on a loaded machine, not stuck
            out, _ = dev.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            dev.kill()
            out, _ = dev.communicate()
            pytest.fail(f"make dev did not stop within 90 s of Ctrl-C:\n{out[-2000:]}")
    report = "\n".join(f"$ {r.step.command}\n[exit {r.rc}]\n{r.output}" for r in ran)
    for r in ran:
        assert r.rc == 0, f"{r.step.command!r} failed:\n{report}"
        assert "Traceback" not in r.output, report
        for expected in r.step.prints:
            assert prints_match(expected, r.output), \
                f"{r.step.command!r} printed something else than {expected!r}:\n{report}"
    assert dev.returncode == 0, out
    assert "Voicelane is running on http://127.0.0.1:" in out
    assert not env_file.exists(), "Ctrl-C left .voicelane/dev.env behind"


def test_a_step_that_fails_is_reported(tmp_path: Path) -> None:
    ran = run_in_one_shell([Step("X=1"), Step("echo $X"), Step("false")], tmp_path,
                           newcomer_env(), timeout_s=10)
    assert [(r.rc, r.output) for r in ran] == [(0, ""), (0, "1\n"), (1, "")]
