"""`voicelane`: run the local platform and manage apps, keys and calls.

Admin commands (apps, keys) write the table directly with the caller's AWS credentials
(locally: moto, from .voicelane/dev.env); call commands use the HTTP API and an API key.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

DEV_ENV = Path(".voicelane/dev.env")


def load_dev_env(path: Path = DEV_ENV) -> None:
    """Read KEY=VALUE lines into the environment unless they are set already."""
    if not path.exists():
        return
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            os.environ.setdefault(key.strip(), value.strip())


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def cmd_dev(args: argparse.Namespace) -> int:
    from voicelane_local.platform import LocalPlatform

    platform = LocalPlatform(api_port=args.port).start()
    print(f"Voicelane is running on {platform.api_url} (health: {platform.api_url}/healthz)")
    print(f"  app id:   {platform.app_id}")
    print(f"  API key:  {platform.api_key}")
    print(f"  local AWS: {platform.aws.endpoint}")
    for node in platform.extras:  # the loopback media node serves the softphone page
        public = getattr(node, "public_url", None)
        if isinstance(public, str):
            page = public.replace("ws://", "http://").removesuffix("/v1/media")
            print(f"  softphone: {page}/softphone/ (give it a webrtc session: docs/webrtc.md)")
    print(f"  wrote {DEV_ENV} (read by the voicelane CLI). Ctrl-C stops everything.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("stopping...")
    platform.stop()
    return 0


def _container() -> Any:
    from voicelane.container import get_container

    return get_container()


def cmd_apps_create(args: argparse.Namespace) -> int:
    app = _container().apps.create_app(args.name)
    _print(app.model_dump(mode="json"))
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    key, plaintext = _container().apps.create_key(args.app, args.mode)
    _print({"key_id": key.key_id, "app_id": key.app_id, "mode": key.mode, "api_key": plaintext,
            "note": "shown once; store it now"})
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    _container().apps.revoke_key(args.key_id)
    _print({"key_id": args.key_id, "revoked": True})
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    keys = _container().apps.apps.list_keys(args.app)
    _print([{"key_id": k.key_id, "mode": k.mode, "prefix": k.prefix, "revoked": k.revoked}
            for k in keys])
    return 0


def _api() -> httpx.Client:
    url = os.environ.get("VOICELANE_API_URL", "http://127.0.0.1:8000")
    key = os.environ.get("VOICELANE_API_KEY", "")
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _api_call(method: str, path: str, body: Any = None) -> int:
    with _api() as client:
        resp = client.request(method, path, json=body)
    _print(resp.json() if resp.content else {"status": resp.status_code})
    return 0 if resp.status_code < 400 else 1


def cmd_calls(args: argparse.Namespace) -> int:
    if args.action == "create":
        body: dict[str, Any] = {"from": args.from_, "to": args.to}
        if args.agent_id:
            body["agent_id"] = args.agent_id
        return _api_call("POST", "/v1/calls", body)
    if args.action == "list":
        return _api_call("GET", "/v1/calls")
    if not args.call_id:
        print("call id required", file=sys.stderr)
        return 2
    path = {"get": "", "events": "/events", "hangup": "/hangup", "transcript": "/transcript",
            "recording": "/recording"}[args.action]
    return _api_call("POST" if args.action == "hangup" else "GET", f"/v1/calls/{args.call_id}{path}")


def cmd_demo(args: argparse.Namespace) -> int:
    from voicelane_local.demo import run_demo

    return run_demo(api_port=args.port, output=Path(args.output))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voicelane", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run the local platform until Ctrl-C")
    dev.add_argument("--port", type=int, default=8000)
    dev.set_defaults(fn=cmd_dev)
    demo = sub.add_parser("demo", help="run the demo call on the local platform")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--output", default="demo-output")
    demo.set_defaults(fn=cmd_demo)

    apps = sub.add_parser("apps", help="manage apps").add_subparsers(dest="sub", required=True)
    ac = apps.add_parser("create")
    ac.add_argument("name")
    ac.set_defaults(fn=cmd_apps_create)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(dest="sub", required=True)
    kc = keys.add_parser("create")
    kc.add_argument("--app", required=True)
    kc.add_argument("--mode", choices=["test", "live"], default="test")
    kc.set_defaults(fn=cmd_keys_create)
    kr = keys.add_parser("revoke")
    kr.add_argument("key_id")
    kr.set_defaults(fn=cmd_keys_revoke)
    kl = keys.add_parser("list")
    kl.add_argument("--app", required=True)
    kl.set_defaults(fn=cmd_keys_list)

    calls = sub.add_parser("calls", help="calls through the HTTP API")
    calls.add_argument("action", choices=["create", "list", "get", "events", "hangup",
                                          "transcript", "recording"])
    calls.add_argument("call_id", nargs="?")
    calls.add_argument("--from", dest="from_")
    calls.add_argument("--to")
    calls.add_argument("--agent-id")
    calls.set_defaults(fn=cmd_calls)
    return p


def main(argv: list[str] | None = None) -> int:
    load_dev_env()
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except Exception as exc:  # one clean line for the user, not a traceback
        from voicelane.domain.errors import VoicelaneError

        if isinstance(exc, VoicelaneError):
            print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
