"""RFC 3261 SIP messages: parsing (section 7 and 25), serialisation and builders.

``parse(data)`` is the entry point for one datagram (or one framed stream message);
``frame_length(buffer)`` tells a stream transport how many bytes the next message needs.
Every rejection is a :class:`SipParseError` carrying a ``reason``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .grammar import WSP, SipParseError, is_token, is_word, set_param, split_commas
from .headers import CSeq, Headers, NameAddr, Via
from .uri import SipUri, has_scheme

__all__ = [
    "MAX_HEADERS",
    "MAX_HEADER_LINE",
    "MAX_MESSAGE_SIZE",
    "REASON_PHRASES",
    "Headers",
    "SipMessage",
    "SipParseError",
    "SipRequest",
    "SipResponse",
    "frame_length",
    "make_response",
    "parse",
]

MAX_MESSAGE_SIZE = 65536
MAX_HEADERS = 256
MAX_HEADER_LINE = 8192

REASON_PHRASES = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 300: "Multiple Choices",
    301: "Moved Permanently", 302: "Moved Temporarily", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    407: "Proxy Authentication Required", 408: "Request Timeout", 413: "Request Entity Too Large",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 491: "Request Pending", 500: "Server Internal Error",
    501: "Not Implemented", 503: "Service Unavailable", 504: "Server Time-out",
    505: "Version Not Supported", 513: "Message Too Large", 600: "Busy Everywhere",
    603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}

SIP_VERSION = "SIP/2.0"  # the only version this stack speaks (RFC 3261 7.1)
_REQUEST_LINE = re.compile(r"^([^ ]+) ([^ ]+) ([Ss][Ii][Pp]/[0-9]{1,3}\.[0-9]{1,3})$")
_STATUS_LINE = re.compile(r"^([Ss][Ii][Pp]/[0-9]{1,3}\.[0-9]{1,3}) ([1-6][0-9]{2})(?: (.*))?$")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_SINGLE = ("From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Length", "Content-Type")


class SipMessage:
    """Common part of requests and responses."""

    is_request = False

    def __init__(self, headers: Headers | None = None, body: bytes = b"", version: str = "SIP/2.0"):
        self.headers = headers if headers is not None else Headers()
        self.body = body
        self.version = version

    # -- structured accessors (values were validated by parse) --
    def get(self, name: str) -> str | None:
        return self.headers.get(name)

    def get_all(self, name: str) -> list[str]:
        return self.headers.get_all(name)

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    @property
    def call_id(self) -> str:
        return self._required("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self._required("CSeq"))

    @property
    def from_addr(self) -> NameAddr:
        return NameAddr.parse(self._required("From"))

    @property
    def to_addr(self) -> NameAddr:
        return NameAddr.parse(self._required("To"))

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.get_all("Via")]

    @property
    def top_via(self) -> Via:
        return Via.parse(split_commas(self._required("Via"))[0])

    @property
    def contacts(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.get_all("Contact") if v != "*"]

    @property
    def record_routes(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.get_all("Record-Route")]

    @property
    def routes(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.get_all("Route")]

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return value.split(";")[0].strip().lower() if value else None

    def start_line(self) -> str:
        raise NotImplementedError

    def serialize(self) -> bytes:
        head = [self.start_line()]
        head.extend(f"{k}: {v}" for k, v in self.headers)
        return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + self.body

    def __bytes__(self) -> bytes:
        return self.serialize()


class SipRequest(SipMessage):
    is_request = True

    def __init__(self, method: str, uri: str, headers: Headers | None = None,
                 body: bytes = b"", version: str = "SIP/2.0") -> None:
        super().__init__(headers, body, version)
        self.method = method
        self.uri = uri

    @property
    def request_uri(self) -> SipUri:
        return SipUri.parse(self.uri)

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    @classmethod
    def build(cls, method: str, uri: str | SipUri, headers: Iterable[tuple[str, str]] = (),
              body: bytes = b"", content_type: str | None = None) -> SipRequest:
        """Build a request; ``Content-Type``/``Content-Length`` are added last."""
        if not is_token(method):
            raise ValueError(f"invalid method {method!r}")
        req = cls(method, str(uri), Headers(headers), body)
        _finish_body(req.headers, body, content_type)
        return req

    def __repr__(self) -> str:
        return f"<SipRequest {self.method} {self.uri}>"


class SipResponse(SipMessage):
    def __init__(self, status: int, reason: str = "", headers: Headers | None = None,
                 body: bytes = b"", version: str = "SIP/2.0") -> None:
        super().__init__(headers, body, version)
        self.status = status
        self.reason = reason

    def start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<SipResponse {self.status} {self.reason}>"


def _finish_body(headers: Headers, body: bytes, content_type: str | None) -> None:
    if content_type is not None:
        headers.set("Content-Type", content_type)
    headers.remove("Content-Length")
    headers.add("Content-Length", str(len(body)))


def make_response(request: SipRequest, status: int, reason: str | None = None, *,
                  to_tag: str | None = None, headers: Iterable[tuple[str, str]] = (),
                  body: bytes = b"", content_type: str | None = None) -> SipResponse:
    """Build a response per RFC 3261 8.2.6: copy Via, From, To, Call-ID, CSeq (and
    Timestamp on 100); add ``to_tag`` to To unless it already carries one."""
    out = Headers()
    for line in request.headers.lines("Via"):
        out.add("Via", line)
    out.add("From", request._required("From"))
    to_value = request._required("To")
    if to_tag is not None and status > 100:
        to = NameAddr.parse(to_value)
        if to.tag is None:
            to_value = str(to.with_tag(to_tag))
    out.add("To", to_value)
    out.add("Call-ID", request.call_id)
    out.add("CSeq", request._required("CSeq"))
    timestamp = request.get("Timestamp")
    if status == 100 and timestamp is not None:
        out.add("Timestamp", timestamp)
    for name, value in headers:
        out.add(name, value)
    response = SipResponse(status, reason if reason is not None else REASON_PHRASES.get(status, ""), out, body)
    _finish_body(out, body, content_type)
    return response


def note_source(request: SipRequest, host: str, port: int) -> None:
    """Record where ``request`` came from in its top Via, so responses copied from it
    carry it: ``received=<host>`` when the sent-by host differs (RFC 3261 18.2.1), and
    ``rport=<port>;received=<host>`` when the Via asked with a bare ``rport`` (RFC 3581 4)."""
    first, *rest = split_commas(request.headers.lines("Via")[0])
    via = Via.parse(first)
    if via.has_rport:
        params = set_param(set_param(via.params, "rport", str(port)), "received", host)
    elif via.host.strip("[]").lower() != host.lower():
        params = set_param(via.params, "received", host)
    else:
        return
    via.params = params
    request.headers.replace_first("Via", ", ".join([str(via), *rest]))


def _skip_blank(data: bytes) -> int:
    i = 0
    while i < len(data) and data[i] in (10, 13):
        i += 1
    return i


def frame_length(buffer: bytes) -> int | None:
    """Stream framing (RFC 3261 18.3): total bytes the first message in ``buffer`` occupies,
    counting leading CRLF keep-alives, or ``None`` if the header section is incomplete.
    A missing Content-Length counts as 0. Raises :class:`SipParseError` when the header
    section or the announced length exceed :data:`MAX_MESSAGE_SIZE`."""
    start = _skip_blank(buffer)
    m = _HEAD_END.search(buffer, start)
    if m is None:
        if len(buffer) - start > MAX_MESSAGE_SIZE:
            raise SipParseError("header section too large")
        return None
    length = 0
    for raw in buffer[start : m.start()].split(b"\n"):
        name, colon, value = raw.partition(b":")
        if colon and name.strip(b" \t").lower() in (b"content-length", b"l"):
            length = _content_length(value.strip(b" \t\r").decode("latin-1"))
    total = m.end() + length
    if total - start > MAX_MESSAGE_SIZE:
        raise SipParseError("message too large")
    return total


def _content_length(value: str) -> int:
    if not value.isdigit() or not value.isascii() or len(value) > 10:
        raise SipParseError("invalid Content-Length")
    return int(value)


def parse(data: bytes, *, strict_length: bool = False) -> SipMessage:
    """Parse one complete SIP message (one datagram or one framed stream message).

    A body shorter than Content-Length is an error. Bytes beyond Content-Length are
    discarded as RFC 3261 18.3 requires for datagrams (RFC 4475 "dblreq"), or rejected
    when ``strict_length`` is true.
    """
    try:
        return _parse(bytes(data), strict_length)
    except SipParseError:
        raise
    except (ValueError, IndexError, UnicodeError) as exc:  # defensive: never leak other errors
        raise SipParseError(f"malformed message: {exc}") from None


def _parse(data: bytes, strict_length: bool) -> SipMessage:
    if len(data) > MAX_MESSAGE_SIZE:
        raise SipParseError("message too large")
    start = _skip_blank(data)
    m = _HEAD_END.search(data, start)
    if m is None:
        raise SipParseError("missing empty line after headers")
    try:
        head = data[start : m.start()].decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("header section is not valid UTF-8") from None
    body = data[m.end() :]
    lines = head.split("\n")
    first = lines[0].removesuffix("\r")
    items: list[list[str]] = []
    for raw in lines[1:]:
        line = raw.removesuffix("\r")
        if len(line) > MAX_HEADER_LINE:
            raise SipParseError("header line too long")
        if line[:1] in (" ", "\t"):
            if not items:
                raise SipParseError("continuation line before first header")
            items[-1][1] = items[-1][1] + " " + line.strip(WSP)
            if len(items[-1][1]) > MAX_HEADER_LINE:
                raise SipParseError("folded header too long")
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(WSP)
        if not colon or not is_token(name):
            raise SipParseError(f"malformed header line {line[:40]!r}")
        items.append([name, value.strip(WSP)])
        if len(items) > MAX_HEADERS:
            raise SipParseError("too many headers")
    if len(first) > MAX_HEADER_LINE:
        raise SipParseError("start line too long")
    headers = Headers((k, v.strip(WSP)) for k, v in items)
    msg = _start_line(first, headers, body)
    _validate(msg, strict_length)
    return msg


def _start_line(first: str, headers: Headers, body: bytes) -> SipMessage:
    sm = _STATUS_LINE.match(first)
    if sm:
        return SipResponse(int(sm.group(2)), sm.group(3) or "", headers, body, sm.group(1))
    if first[:4].upper() == "SIP/":
        raise SipParseError("malformed status line")
    rm = _REQUEST_LINE.match(first)
    if not rm:
        raise SipParseError("malformed request line")
    method, uri, version = rm.groups()
    if not is_token(method):
        raise SipParseError("invalid method")
    if not has_scheme(uri):
        raise SipParseError("Request-URI is not an absolute URI")
    if uri.split(":", 1)[0].lower() in ("sip", "sips", "tel"):
        parsed = SipUri.parse(uri)
        if parsed.headers:
            raise SipParseError("headers are not allowed in a Request-URI")
    return SipRequest(method, uri, headers, body, version)


def _validate(msg: SipMessage, strict_length: bool) -> None:
    h = msg.headers
    for name in _SINGLE:
        if len(h.lines(name)) > 1:
            raise SipParseError(f"more than one {name} header")
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        if h.get(name) is None:
            raise SipParseError(f"missing {name} header")
    if not msg.get_all("Via"):
        raise SipParseError("empty Via header")
    msg.vias  # noqa: B018 - validates every Via
    msg.from_addr  # noqa: B018
    msg.to_addr  # noqa: B018
    msg.contacts  # noqa: B018
    msg.routes  # noqa: B018
    msg.record_routes  # noqa: B018
    call_id = msg.call_id
    left, at, right = call_id.partition("@")
    if not is_word(left) or (at and not is_word(right)):
        raise SipParseError("invalid Call-ID")
    cseq = msg.cseq
    if isinstance(msg, SipRequest) and cseq.method != msg.method:
        raise SipParseError("CSeq method does not match request method")
    max_forwards = h.get("Max-Forwards")
    if max_forwards is not None and (
        not max_forwards.isdigit() or not max_forwards.isascii() or int(max_forwards[-4:]) > 255
        or len(max_forwards.lstrip("0")) > 3
    ):
        raise SipParseError("invalid Max-Forwards")
    length = h.get("Content-Length")
    if length is not None:
        expected = _content_length(length)
        if expected > len(msg.body) or (strict_length and expected < len(msg.body)):
            raise SipParseError(
                f"Content-Length {expected} does not match body length {len(msg.body)}"
            )
        msg.body = msg.body[:expected]
