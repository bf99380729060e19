"""The `voicelane` CLI: numbers and trunks against the local platform, and one-line errors.

In-process runs (`main([...])`) talk to the session's local platform over real HTTP; the
error cases that depend on the environment (no AWS credentials, nothing listening) run the
installed `voicelane` script in a subprocess with a newcomer's environment.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from voicelane.container import Container
from voicelane_local.cli import main
from voicelane_local.moto_server import free_port
from voicelane_local.platform import LocalPlatform

from tests.voicelane_local.readme_steps import REPO

VOICELANE = str(REPO / ".venv" / "bin" / "voicelane")


@pytest.fixture
def cli(local_platform: LocalPlatform, new_tenant: Callable[..., Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> Callable[..., tuple[int, Any, str]]:
    """`cli(*argv, stdin="")` as a fresh app's user: (exit status, printed JSON, stderr)."""
    tenant = new_tenant("cli")
    monkeypatch.chdir(tmp_path)  # no .voicelane/dev.env of a `make dev` in the repo
    monkeypatch.setenv("VOICELANE_API_URL", local_platform.api_url)
    monkeypatch.setenv("VOICELANE_API_KEY", tenant.api_key)

    def run(*argv: str, stdin: str = "") -> tuple[int, Any, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        rc = main(list(argv))
        out, err = capsys.readouterr()
        return rc, (json.loads(out) if out.strip() else None), err

    run.app = tenant.app  # type: ignore[attr-defined]
    return run


def test_numbers_create_list_get_delete(cli: Callable[..., Any], container: Container) -> None:
    app = cli.app  # type: ignore[attr-defined]
    rc, created, _ = cli("numbers", "create", "+14155550123")
    assert rc == 0 and created["number"] == "+14155550123" and created["app_id"] == app.app_id
    assert container.numbers.get(app, "+14155550123").app_id == app.app_id
    assert cli("numbers", "list")[1]["data"] == [created]
    assert cli("numbers", "get", "+14155550123")[1] == created
    assert cli("numbers", "delete", "+14155550123")[:2] == (
        0, {"number": "+14155550123", "deleted": True})
    assert cli("numbers", "list")[1] == {"data": []}
    rc, out, err = cli("numbers", "get", "+14155550123")
    assert (rc, out) == (1, None)
    assert err == ("error: HTTP 404 number_not_found: number not found "
                   "(number=+14155550123)\n")


def test_numbers_create_with_an_unknown_agent_is_one_line(cli: Callable[..., Any]) -> None:
    rc, out, err = cli("numbers", "create", "+14155550124", "--agent-id", "agent_nope")
    assert (rc, out) == (1, None)
    assert err == ("error: HTTP 422 agent_not_found: agent_id is not an agent of this app "
                   "(agent_id=agent_nope)\n")


def test_trunks_create_list_get_delete(cli: Callable[..., Any], container: Container) -> None:
    app = cli.app  # type: ignore[attr-defined]
    rc, trunk, _ = cli("trunks", "create", "carrier", "--host", "sip.example.com", "--port",
                       "5080", "--transport", "tcp", "--username", "acme", "--password-stdin",
                       "--inbound-address", "192.0.2.0/24", stdin="s3cret\n")
    assert rc == 0
    assert trunk["id"].startswith("trunk_") and trunk["name"] == "carrier"
    assert (trunk["host"], trunk["port"], trunk["transport"]) == ("sip.example.com", 5080, "tcp")
    assert trunk["has_password"] is True and "s3cret" not in json.dumps(trunk)
    assert trunk["inbound_addresses"] == ["192.0.2.0/24"]
    assert container.trunks.get(app, trunk["id"]).password == "s3cret"
    assert cli("trunks", "list")[1] == {"data": [trunk]}
    assert cli("trunks", "get", trunk["id"])[1] == trunk
    assert cli("trunks", "delete", trunk["id"])[:2] == (0, {"id": trunk["id"], "deleted": True})
    assert cli("trunks", "list")[1] == {"data": []}


def test_a_bad_trunk_is_refused_in_one_line(cli: Callable[..., Any]) -> None:
    rc, out, err = cli("trunks", "create", "carrier", "--host", "bad host!")
    assert (rc, out) == (1, None)
    assert err.startswith("error: HTTP 422 validation_error: the request is not valid (body.host:")
    assert err.count("\n") == 1


def test_an_api_4xx_is_one_line_with_code_and_message(cli: Callable[..., Any]) -> None:
    rc, out, err = cli("calls", "create", "--from", "+14155550100", "--to", "+14155550199")
    assert (rc, out) == (1, None)
    assert err == ("error: HTTP 422 from_number_not_owned: from is not a number of this app "
                   "(from=+14155550100)\n")


def test_a_wrong_api_key_is_one_line(cli: Callable[..., Any],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICELANE_API_KEY", "sk_test_not_a_key")
    rc, _, err = cli("trunks", "list")
    assert rc == 1 and err.startswith("error: HTTP 401 ") and err.count("\n") == 1


def test_an_admin_error_is_one_line(cli: Callable[..., Any]) -> None:
    rc, _, err = cli("keys", "create", "--app", "app_nope")
    assert (rc, err) == (1, "error: app_not_found: app not found\n")


def _run(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed CLI with a newcomer's environment: no VOICELANE_*, no AWS credentials."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VOICELANE_", "AWS_"))}
    clean.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true",
                 AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), **env)
    return subprocess.run([VOICELANE, *argv], cwd=tmp_path, env=clean, capture_output=True,
                          text=True, timeout=60)


def test_no_aws_credentials_is_one_line(tmp_path: Path) -> None:
    done = _run(tmp_path, "apps", "create", "acme")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: no AWS credentials: ") and done.stderr.count("\n") == 1


def test_the_local_platform_gets_moto_credentials_and_an_unreachable_one_is_one_line(
        tmp_path: Path) -> None:
    # the env file of a `make dev` that is gone: moto's credentials, nothing listening
    endpoint = f"http://127.0.0.1:{free_port()}"
    done = _run(tmp_path, "apps", "create", "acme", VOICELANE_LOCAL="true",
                VOICELANE_AWS_ENDPOINT_URL=endpoint)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error: cannot reach AWS at {endpoint}")
    assert done.stderr.count("\n") == 1


def test_an_unreachable_api_and_a_missing_key_are_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = _run(tmp_path, "calls", "list", VOICELANE_API_URL=url, VOICELANE_API_KEY="sk_test_x")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error: cannot reach the Voicelane API at {url} (ConnectError)")
    assert done.stderr.count("\n") == 1
    done = _run(tmp_path, "numbers", "list", VOICELANE_API_URL=url)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("error: no API key: ") and done.stderr.count("\n") == 1


def test_app_set_and_get_change_the_apps_toll_fraud_settings(
        cli: Callable[..., Any], container: Container) -> None:
    rc, shown, _ = cli("app", "set", "--calls-per-second", "3", "--allow-list", "+1, +44")
    assert rc == 0 and (shown["calls_per_second"], shown["destination_allow_list"]) == (
        3, ["+1", "+44"]), shown
    stored = container.apps.get_app(cli.app.app_id)
    assert (stored.calls_per_second, stored.destination_allow_list) == (3, ["+1", "+44"])
    rc, shown, _ = cli("app", "set", "--allow-list", "default")
    assert rc == 0 and shown["destination_allow_list"] is None and shown["calls_per_second"] == 3
    rc, shown, _ = cli("app", "get")
    assert rc == 0 and shown["id"] == cli.app.app_id


def test_bad_app_settings_are_one_line_and_change_nothing(
        cli: Callable[..., Any], container: Container) -> None:
    rc, out, err = cli("app", "set", "--allow-list", "44")
    assert rc == 1 and out is None
    assert err.startswith("error: HTTP 422 validation_error") and len(err.splitlines()) == 1, err
    rc, _, err = cli("app", "set", "--calls-per-second", "fast")
    assert rc == 1 and err.startswith("error: --calls-per-second"), err
    rc, _, err = cli("app", "set")
    assert rc == 1 and "needs" in err, err
    stored = container.apps.get_app(cli.app.app_id)
    assert (stored.calls_per_second, stored.destination_allow_list) == (None, None)
