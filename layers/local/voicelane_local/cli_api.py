"""The `voicelane` commands that go through the HTTP API with an API key: calls, numbers, trunks
and the app's own settings.

Each command is one request; the answer's JSON is printed. An error answer becomes a `CliError`
(one line with the HTTP status, the error's `code` and `message`), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"


class CliError(Exception):
    """A failure the user can act on: printed as one `error: ...` line, exit status 1."""


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def api_error_line(resp: httpx.Response) -> str:
    """`HTTP 422 from_number_not_owned: from is not a number of this app (from=+1415...)`."""
    try:
        error = resp.json()["error"]
        code, message, details = error["code"], error["message"], error.get("details")
    except (ValueError, KeyError, TypeError):
        return f"HTTP {resp.status_code}: {resp.text[:200] or resp.reason_phrase}"
    line = f"HTTP {resp.status_code} {code}: {message}"
    if isinstance(details, dict) and details:
        line += " (" + ", ".join(f"{k}={v}" for k, v in details.items()) + ")"
    elif isinstance(details, list) and details:
        # pydantic's list of field errors: where and what, for the first few
        parts = [f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}"
                 for d in details[:3] if isinstance(d, dict)]
        line += " (" + "; ".join(parts) + ")"
    return line


def request(method: str, path: str, body: Any = None) -> Any:
    """One API request; the JSON answer (None for 204), or CliError with a one-line reason."""
    url = os.environ.get("VOICELANE_API_URL") or DEFAULT_API_URL
    key = os.environ.get("VOICELANE_API_KEY", "")
    if not key:
        raise CliError("no API key: set VOICELANE_API_KEY (`make dev` writes one to "
                       ".voicelane/dev.env, which this command reads)")
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                          timeout=30) as client:
            resp = client.request(method, path, json=body)
    except httpx.TransportError as exc:
        raise CliError(f"cannot reach the Voicelane API at {url} ({type(exc).__name__}): is "
                       "`make dev` running, and VOICELANE_API_URL right?") from None
    if resp.status_code >= 400:
        raise CliError(api_error_line(resp))
    if resp.status_code == 204 or not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        raise CliError(f"HTTP {resp.status_code}: the answer from {url} is not JSON: is "
                       "VOICELANE_API_URL a Voicelane API?") from None


def _show(method: str, path: str, body: Any = None, gone: dict[str, Any] | None = None) -> int:
    answer = request(method, path, body)
    print_json(answer if answer is not None else gone)
    return 0


def cmd_calls(args: argparse.Namespace) -> int:
    if args.action == "create":
        if not args.from_ or not args.to:
            raise CliError("calls create needs --from and --to")
        body: dict[str, Any] = {"from": args.from_, "to": args.to}
        if args.agent_id:
            body["agent_id"] = args.agent_id
        return _show("POST", "/v1/calls", body)
    if args.action == "list":
        return _show("GET", "/v1/calls")
    if not args.call_id:
        raise CliError(f"calls {args.action} needs a call id")
    path = {"get": "", "events": "/events", "hangup": "/hangup", "transcript": "/transcript",
            "recording": "/recording"}[args.action]
    method = "POST" if args.action == "hangup" else "GET"
    return _show(method, f"/v1/calls/{quote(args.call_id, safe='')}{path}")


def cmd_numbers(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _show("GET", "/v1/numbers")
    if not args.number:
        raise CliError(f"numbers {args.action} needs a number (E.164, e.g. +14155550100)")
    path = f"/v1/numbers/{quote(args.number, safe='+')}"
    if args.action == "create":
        body: dict[str, Any] = {"number": args.number}
        if args.agent_id:
            body["agent_id"] = args.agent_id
        return _show("POST", "/v1/numbers", body)
    if args.action == "get":
        return _show("GET", path)
    return _show("DELETE", path, gone={"number": args.number, "deleted": True})


def cmd_trunks(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _show("GET", "/v1/trunks")
    if args.action == "create":
        if not args.name or not args.host:
            raise CliError("trunks create needs a name and --host")
        body: dict[str, Any] = {"name": args.name, "host": args.host, "port": args.port,
                                "transport": args.transport, "priority": args.priority,
                                "inbound_addresses": args.inbound_address, "srtp": args.srtp}
        if args.username:
            body["username"] = args.username
        if args.password_stdin:
            body["password"] = sys.stdin.readline().rstrip("\r\n")
        return _show("POST", "/v1/trunks", body)
    if not args.name:
        raise CliError(f"trunks {args.action} needs a trunk id")
    path = f"/v1/trunks/{quote(args.name, safe='')}"
    if args.action == "get":
        return _show("GET", path)
    return _show("DELETE", path, gone={"id": args.name, "deleted": True})


DEFAULT = "default"  # `--calls-per-second default`: back to the platform's default (null)


def cmd_app(args: argparse.Namespace) -> int:
    if args.action == "get":
        return _show("GET", "/v1/app")
    body: dict[str, Any] = {}
    if args.calls_per_second is not None:
        cps = args.calls_per_second
        if cps != DEFAULT and not cps.isdigit():
            raise CliError(f"--calls-per-second takes a whole number or {DEFAULT!r}, not {cps!r}")
        body["calls_per_second"] = None if cps == DEFAULT else int(cps)
    if args.allow_list is not None:
        body["destination_allow_list"] = (None if args.allow_list == DEFAULT else
                                          [p.strip() for p in args.allow_list.split(",")])
    if not body:
        raise CliError("app set needs --calls-per-second, --allow-list or both")
    return _show("PATCH", "/v1/app", body)  # the API validates (one-line 422 otherwise)


def add_parsers(sub: Any) -> None:
    """The calls, numbers, trunks and app sub-commands."""
    calls = sub.add_parser("calls", help="calls through the HTTP API")
    calls.add_argument("action", choices=["create", "list", "get", "events", "hangup",
                                          "transcript", "recording"])
    calls.add_argument("call_id", nargs="?")
    calls.add_argument("--from", dest="from_")
    calls.add_argument("--to")
    calls.add_argument("--agent-id")
    calls.set_defaults(fn=cmd_calls)

    numbers = sub.add_parser("numbers", help="the app's phone numbers (HTTP API)")
    numbers.add_argument("action", choices=["list", "create", "get", "delete"])
    numbers.add_argument("number", nargs="?", help="E.164, e.g. +14155550100")
    numbers.add_argument("--agent-id", help="the agent that answers inbound calls")
    numbers.set_defaults(fn=cmd_numbers)

    trunks = sub.add_parser("trunks", help="the app's SIP trunks (HTTP API)")
    trunks.add_argument("action", choices=["list", "create", "get", "delete"])
    trunks.add_argument("name", nargs="?", metavar="NAME_OR_ID",
                        help="create: the trunk's name; get, delete: its id (trunk_...)")
    trunks.add_argument("--host", help="the carrier's SIP host name or IP")
    trunks.add_argument("--port", type=int, default=5060)
    trunks.add_argument("--transport", choices=["udp", "tcp", "tls"], default="udp")
    trunks.add_argument("--srtp", choices=["off", "optional", "mandatory"], default="off",
                        help="SDES-SRTP on the trunk's calls")
    trunks.add_argument("--priority", type=int, default=10, help="lower is tried first")
    trunks.add_argument("--username")
    trunks.add_argument("--password-stdin", action="store_true",
                        help="read the digest password from the first line of stdin")
    trunks.add_argument("--inbound-address", action="append", default=[], metavar="CIDR",
                        help="an address the carrier sends INVITEs from (repeatable)")
    trunks.set_defaults(fn=cmd_trunks)

    app = sub.add_parser("app", help="the API key's app: its toll-fraud settings (HTTP API)")
    app.add_argument("action", choices=["get", "set"])
    app.add_argument("--calls-per-second", metavar="N",
                     help=f"calls the app may place per second (1-1000), or {DEFAULT!r}")
    app.add_argument("--allow-list", metavar="PREFIXES",
                     help=f"E.164 prefixes it may dial, comma-separated (+1,+44), * for "
                          f"anywhere, or {DEFAULT!r} (the from-number's country)")
    app.set_defaults(fn=cmd_app)
