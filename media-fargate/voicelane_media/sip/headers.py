"""Header names, the header block of a message (:class:`Headers`) and structured header values:
name-addr, Via, CSeq (RFC 3261 sections 7.3 and 20)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .grammar import (
    WSP,
    Params,
    SipParseError,
    format_params,
    get_param,
    is_token,
    parse_params,
    quote,
    read_quoted,
    set_param,
    split_commas,
)
from .uri import SipUri, has_scheme, parse_hostport

#: Compact header forms (RFC 3261 7.3.3 and extensions) -> long form.
COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_CANONICAL = {
    name.lower(): name
    for name in (
        *COMPACT_FORMS.values(),
        "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
        "Authentication-Info", "Authorization", "Call-Info", "Content-Disposition",
        "Content-Language", "CSeq", "Date", "Error-Info", "Expires", "In-Reply-To",
        "Max-Forwards", "Min-Expires", "MIME-Version", "Organization", "Priority",
        "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "Record-Route",
        "Reply-To", "Require", "Retry-After", "Route", "Server", "Timestamp",
        "Unsupported", "User-Agent", "Warning", "WWW-Authenticate", "Path", "RSeq", "RAck",
        "Subscription-State", "Min-SE", "P-Asserted-Identity", "Privacy",
    )
}

#: Headers whose values are comma-separated lists (``#element`` in the grammar).
MULTI_VALUE = frozenset(
    name.lower()
    for name in (
        "Via", "Route", "Record-Route", "Contact", "Allow", "Supported", "Require",
        "Proxy-Require", "Unsupported", "Accept", "Accept-Encoding", "Accept-Language",
        "Content-Encoding", "Content-Language", "Allow-Events", "Path", "In-Reply-To",
        "Alert-Info", "Call-Info", "Error-Info", "Warning", "Reply-To", "P-Asserted-Identity",
    )
)


def canonical_name(name: str) -> str:
    """Long, conventionally capitalised form of a header name (compact forms expanded)."""
    lname = name.lower()
    if lname in COMPACT_FORMS:
        return COMPACT_FORMS[lname]
    return _CANONICAL.get(lname, name)


@dataclass
class NameAddr:
    """``[display-name] <URI> *(;param)`` or ``addr-spec *(;param)`` (From, To, Contact...)."""

    uri: str
    display_name: str | None = None
    params: Params = field(default_factory=list)
    angle: bool = True
    quoted: bool = False

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip(WSP)
        display: str | None = None
        i = 0
        if text.startswith('"'):
            display, i = read_quoted(text, 0)
            while i < len(text) and text[i] in WSP:
                i += 1
            if i >= len(text) or text[i] != "<":
                raise SipParseError("quoted display name must be followed by <URI>")
        lt = text.find("<", i)
        if lt != -1 and (display is not None or ";" not in text[:lt]):
            if display is None:
                words = text[:lt].split()
                if not all(is_token(w) for w in words):
                    raise SipParseError("display name must be a token list or quoted string")
                display = " ".join(words) if words else None
            gt = text.find(">", lt)
            if gt == -1:
                raise SipParseError("unterminated <URI>")
            uri = text[lt + 1 : gt]
            rest = text[gt + 1 :]
            angle = True
        else:
            uri, _, rest = text.partition(";")
            uri = uri.strip(WSP)
            rest = ";" + rest if _ else ""
            angle = False
            if any(c in uri for c in ",?"):
                raise SipParseError("addr-spec with ',' or '?' must be enclosed in <>")
        _check_uri(uri)
        rest = rest.strip(WSP)
        if rest and not rest.startswith(";"):
            raise SipParseError("garbage after URI")
        quoted = text.startswith('"')
        return cls(uri, display, parse_params(rest), angle, quoted)

    @property
    def sip_uri(self) -> SipUri:
        return SipUri.parse(self.uri)

    @property
    def tag(self) -> str | None:
        return get_param(self.params, "tag")

    def with_tag(self, tag: str) -> NameAddr:
        params = set_param(self.params, "tag", tag)
        return NameAddr(self.uri, self.display_name, params, True, self.quoted)

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def __str__(self) -> str:
        if not self.angle and self.display_name is None:
            return self.uri + format_params(self.params)
        out = ""
        if self.display_name is not None:
            dn = self.display_name
            plain = not self.quoted and dn and all(is_token(w) for w in dn.split(" "))
            out = (dn if plain else quote(dn)) + " "
        return f"{out}<{self.uri}>{format_params(self.params)}"


def _check_uri(uri: str) -> None:
    if not has_scheme(uri) or any(c in uri for c in " \t"):
        raise SipParseError(f"invalid URI {uri[:64]!r}")
    if uri.split(":", 1)[0].lower() in ("sip", "sips", "tel"):
        SipUri.parse(uri)


_VIA_RE = re.compile(r"^([^/\s]+)[ \t]*/[ \t]*([^/\s]+)[ \t]*/[ \t]*([^\s;/]+)[ \t]+([^;]+)(.*)$")


@dataclass
class Via:
    """One Via header value: ``SIP/2.0/UDP host[:port];branch=...``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = field(default_factory=list)
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text: str) -> Via:
        m = _VIA_RE.match(text.strip(WSP))
        if not m:
            raise SipParseError("invalid Via")
        name, version, transport, sent_by, ptext = m.groups()
        if not is_token(name) or not is_token(version) or not is_token(transport):
            raise SipParseError("invalid Via protocol")
        host, port = parse_hostport(re.sub(r"[ \t]*:[ \t]*", ":", sent_by.strip(WSP)))
        return cls(
            transport=transport.upper(),
            host=host,
            port=port,
            params=parse_params(ptext),
            protocol=f"{name}/{version}",
        )

    @property
    def branch(self) -> str | None:
        return get_param(self.params, "branch")

    @property
    def received(self) -> str | None:
        return get_param(self.params, "received")

    @property
    def rport(self) -> int | None:
        """``rport`` value; ``None`` when absent or present without a value."""
        value = get_param(self.params, "rport")
        return int(value) if value and value.isdigit() else None

    @property
    def has_rport(self) -> bool:
        return get_param(self.params, "rport") is not None

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def __str__(self) -> str:
        return f"{self.protocol}/{self.transport} {self.sent_by}{format_params(self.params)}"


@dataclass(frozen=True)
class CSeq:
    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not parts[0].isascii():
            raise SipParseError("invalid CSeq")
        if len(parts[0]) > 10 or int(parts[0]) >= 2**31:
            raise SipParseError("CSeq number out of range")
        if not is_token(parts[1]):
            raise SipParseError("invalid CSeq method")
        return cls(int(parts[0]), parts[1])

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


class Headers:
    """Ordered header lines; names compared case-insensitively, compact forms expanded."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(canonical_name(k), v) for k, v in items]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def get(self, name: str) -> str | None:
        lname = canonical_name(name).lower()
        for k, v in self._items:
            if k.lower() == lname:
                return v
        return None

    def lines(self, name: str) -> list[str]:
        """Values of every line named ``name``, unsplit."""
        lname = canonical_name(name).lower()
        return [v for k, v in self._items if k.lower() == lname]

    def get_all(self, name: str) -> list[str]:
        """All values; multi-value headers are split on top-level commas."""
        values = self.lines(name)
        if canonical_name(name).lower() in MULTI_VALUE:
            return [item for v in values for item in split_commas(v)]
        return values

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every line named ``name`` with one line, at the first one's position."""
        lname = canonical_name(name).lower()
        idx = next((i for i, (k, _) in enumerate(self._items) if k.lower() == lname), None)
        self.remove(name)
        if idx is None:
            self._items.append((canonical_name(name), value))
        else:
            self._items.insert(idx, (canonical_name(name), value))

    def replace_first(self, name: str, value: str) -> None:
        """Replace the value of the first line named ``name``, keeping its position."""
        lname = canonical_name(name).lower()
        for i, (k, _) in enumerate(self._items):
            if k.lower() == lname:
                self._items[i] = (k, value)
                return
        raise KeyError(name)

    def remove(self, name: str) -> None:
        lname = canonical_name(name).lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != lname]

    def copy(self) -> Headers:
        out = Headers()
        out._items = list(self._items)
        return out
