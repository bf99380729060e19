"""`voicelane`: run the local platform and manage apps, keys, calls, numbers and trunks.

Admin commands (apps, keys) write the table directly with the caller's AWS credentials (for
the local platform: moto's, from .voicelane/dev.env); calls, numbers and trunks use the HTTP API
and an API key (VOICELANE_API_URL, VOICELANE_API_KEY). A failure prints one `error: ...` line
and exits 1, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from voicelane_local.cli_api import CliError, add_parsers, print_json

DEV_ENV = Path(".voicelane/dev.env")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def load_dev_env(path: Path = DEV_ENV) -> None:
    """Read the `[export ]KEY=VALUE` lines of `path` into the environment unless already set."""
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if "=" in line and not line.startswith("#"):
            key, value = line.removeprefix("export ").split("=", 1)
            os.environ.setdefault(key.strip(), value.strip())


def cmd_dev(args: argparse.Namespace) -> int:
    from voicelane_local.dev_softphone import softphone_url
    from voicelane_local.platform import LocalPlatform

    platform = LocalPlatform(api_port=args.port).start()
    print(f"Voicelane is running on {platform.api_url} (health: {platform.api_url}/healthz)")
    print(f"  app id:   {platform.app_id}")
    print(f"  API key:  {platform.api_key}")
    print(f"  local AWS: {platform.aws.endpoint}")
    page = softphone_url(platform)  # the loopback media node serves the softphone page
    if page is not None:
        print(f"  softphone: {page} (call an agent or a number, take calls: docs/webrtc.md)")
    print(f"  wrote {DEV_ENV} (source it in another shell; the voicelane CLI reads it). "
          "Ctrl-C stops everything.", flush=True)
    stop = threading.Event()
    # SIGINT too, not only Python's KeyboardInterrupt: a process started with SIGINT ignored
    # (a background job, some test runners) never gets that handler, and Ctrl-C must stop it
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("stopping...")
    platform.stop()
    return 0


def _local_aws_credentials() -> None:
    """Against the local platform's moto (loopback), use moto's credentials.

    moto accepts any; without some, botocore stops with NoCredentialsError, and real ones have
    no business being sent to a local endpoint.
    """
    endpoint = os.environ.get("VOICELANE_AWS_ENDPOINT_URL", "")
    local = os.environ.get("VOICELANE_LOCAL", "").lower() in ("1", "true", "yes")
    if local and endpoint and urlsplit(endpoint).hostname in LOOPBACK:
        from voicelane_local.moto_server import fake_credentials

        fake_credentials()


def _container() -> Any:
    from voicelane.container import get_container

    _local_aws_credentials()
    return get_container()


def cmd_apps_create(args: argparse.Namespace) -> int:
    app = _container().apps.create_app(args.name)
    if args.quiet:
        print(app.app_id)
    else:
        print_json(app.model_dump(mode="json"))
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    key, plaintext = _container().apps.create_key(args.app, args.mode)
    if args.quiet:
        print(plaintext)
    else:
        print_json({"key_id": key.key_id, "app_id": key.app_id, "mode": key.mode,
                    "api_key": plaintext, "note": "shown once; store it now"})
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    _container().apps.revoke_key(args.key_id)
    print_json({"key_id": args.key_id, "revoked": True})
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    keys = _container().apps.apps.list_keys(args.app)
    print_json([{"key_id": k.key_id, "mode": k.mode, "prefix": k.prefix, "revoked": k.revoked}
                for k in keys])
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.scenario == "voicemail":
        from voicelane_local.demo_voicemail import run_voicemail_demo

        return run_voicemail_demo(api_port=args.port, output=Path(args.output))
    from voicelane_local.demo import run_demo

    return run_demo(api_port=args.port, output=Path(args.output))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voicelane", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run the local platform until Ctrl-C")
    dev.add_argument("--port", type=int, default=8000, help="the API's port (0: any free one)")
    dev.set_defaults(fn=cmd_dev)
    demo = sub.add_parser("demo", help="run the demo call on the local platform")
    demo.add_argument("scenario", nargs="?", choices=["call", "voicemail"], default="call",
                      help="call: the agent's conversation (default); voicemail: a voicemail "
                           "drop on an answering machine (docs/machine-detection.md)")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--output", default="demo-output")
    demo.set_defaults(fn=cmd_demo)

    apps = sub.add_parser("apps", help="manage apps").add_subparsers(dest="sub", required=True)
    ac = apps.add_parser("create")
    ac.add_argument("name")
    ac.add_argument("-q", "--quiet", action="store_true", help="print only the app id")
    ac.set_defaults(fn=cmd_apps_create)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="sub", required=True)
    kc = keys.add_parser("create")
    kc.add_argument("--app", required=True)
    kc.add_argument("--mode", choices=["test", "live"], default="test")
    kc.add_argument("-q", "--quiet", action="store_true", help="print only the API key")
    kc.set_defaults(fn=cmd_keys_create)
    kr = keys.add_parser("revoke")
    kr.add_argument("key_id")
    kr.set_defaults(fn=cmd_keys_revoke)
    kl = keys.add_parser("list")
    kl.add_argument("--app", required=True)
    kl.set_defaults(fn=cmd_keys_list)

    add_parsers(sub)
    from voicelane_local.evals.command import add_parser as add_eval

    add_eval(sub)
    return p


def error_line(exc: Exception) -> str | None:
    """The one line for a failure the user can act on; None for a bug (keep its traceback)."""
    from botocore import exceptions as aws
    from voicelane.domain.errors import VoicelaneError

    from voicelane_local.evals.schema import ScenarioError

    if isinstance(exc, CliError | ScenarioError):
        return str(exc)
    if isinstance(exc, VoicelaneError):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, aws.NoCredentialsError | aws.PartialCredentialsError):
        return ("no AWS credentials: the admin commands (apps, keys) write the table with "
                "yours (AWS_PROFILE, `aws configure`); for the local platform run `make dev` "
                "and use this shell's .voicelane/dev.env")
    if isinstance(exc, aws.EndpointConnectionError | aws.ConnectTimeoutError):
        return (f"cannot reach AWS at {exc.kwargs.get('endpoint_url', '?')}: for the local "
                "platform, is `make dev` still running?")
    if isinstance(exc, aws.ClientError):
        err = exc.response.get("Error", {})
        return f"AWS {err.get('Code', '?')}: {err.get('Message', str(exc))}"
    if isinstance(exc, aws.BotoCoreError):
        return f"AWS: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    load_dev_env()
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except Exception as exc:  # one clean line for the user, not a traceback
        line = error_line(exc)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
