"""SIP, SIPS and tel URIs (RFC 3261 section 19.1, RFC 3966)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

from .grammar import Params, SipParseError, format_params, get_param

_USER_CHARS = frozenset(string.ascii_letters + string.digits + "-_.!~*'()" + "%&=+$,;?/")
_PASSWORD_CHARS = frozenset(string.ascii_letters + string.digits + "-_.!~*'()" + "%&=+$,")
_PARAM_CHARS = frozenset(string.ascii_letters + string.digits + "-_.!~*'()" + "%[]/:&+$")
_HEADER_CHARS = frozenset(string.ascii_letters + string.digits + "-_.!~*'()" + "%[]/?:+$=")
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$")
_IPV6_RE = re.compile(r"^\[[0-9A-Fa-f:.]{2,45}\]$")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_TEL_CHARS = frozenset(string.digits + "+-.()*#ABCDabcdpwPW")


def has_scheme(uri: str) -> bool:
    """True for an RFC 3986 absolute URI prefix ``scheme:``."""
    return bool(_SCHEME_RE.match(uri))


def _check_escapes(text: str, what: str) -> None:
    i = text.find("%")
    while i != -1:
        hexpart = text[i + 1 : i + 3]
        if len(hexpart) != 2 or any(c not in string.hexdigits for c in hexpart):
            raise SipParseError(f"invalid escape in {what}")
        i = text.find("%", i + 3)


def _parse_uri_params(text: str) -> Params:
    params: Params = []
    if not text:
        return params
    for item in text.split(";")[:257]:
        if not item:
            # RFC 3261 does not allow empty params, but ";;" is common enough to tolerate
            continue
        name, eq, value = item.partition("=")
        if not name or any(c not in _PARAM_CHARS for c in name):
            raise SipParseError(f"invalid URI parameter {name!r}")
        if eq and (not value or any(c not in _PARAM_CHARS for c in value)):
            raise SipParseError(f"invalid URI parameter value for {name!r}")
        _check_escapes(item, "URI parameter")
        params.append((name, value if eq else None))
    return params


@dataclass
class SipUri:
    """A parsed ``sip:``/``sips:``/``tel:`` URI; :meth:`__str__` serialises it."""

    scheme: str = "sip"
    user: str | None = None
    host: str = ""
    port: int | None = None
    password: str | None = None
    params: Params = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        if len(text) > 8192:
            raise SipParseError("URI too long")
        if any(c in text for c in " \t\r\n<>\""):
            raise SipParseError("invalid character in URI")
        scheme, colon, rest = text.partition(":")
        lscheme = scheme.lower()
        if not colon or lscheme not in ("sip", "sips", "tel"):
            raise SipParseError(f"unsupported URI scheme in {text[:64]!r}")
        if lscheme == "tel":
            number, _, ptext = rest.partition(";")
            if not number or any(c not in _TEL_CHARS for c in number):
                raise SipParseError("invalid tel URI number")
            return cls(scheme="tel", user=number, params=_parse_uri_params(ptext))
        user = password = None
        at = rest.rfind("@")
        if at != -1:
            userinfo, rest = rest[:at], rest[at + 1 :]
            user, pcolon, pw = userinfo.partition(":")
            if not user or any(c not in _USER_CHARS for c in user):
                raise SipParseError("invalid user part in URI")
            _check_escapes(user, "URI user")
            if pcolon:
                if any(c not in _PASSWORD_CHARS for c in pw):
                    raise SipParseError("invalid password in URI")
                password = pw
        rest, qmark, htext = rest.partition("?")
        headers: list[tuple[str, str]] = []
        if qmark:
            for item in htext.split("&")[:64]:
                name, eq, value = item.partition("=")
                if not eq or not name or any(c not in _HEADER_CHARS for c in item):
                    raise SipParseError("invalid URI header")
                _check_escapes(item, "URI header")
                headers.append((name, value))
        hostport, _, ptext = rest.partition(";")
        host, port = _parse_hostport(hostport)
        return cls(
            scheme=lscheme,
            user=user,
            host=host,
            port=port,
            password=password,
            params=_parse_uri_params(ptext),
            headers=headers,
        )

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    @property
    def transport(self) -> str | None:
        value = self.param("transport")
        return value.lower() if value else None

    @property
    def host_port(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        if self.scheme == "tel":
            return f"tel:{self.user or ''}{format_params(self.params)}"
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out.append(":" + self.password)
            out.append("@")
        out.append(self.host_port)
        out.append(format_params(self.params))
        if self.headers:
            out.append("?" + "&".join(f"{k}={v}" for k, v in self.headers))
        return "".join(out)


def _parse_hostport(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            raise SipParseError("unterminated IPv6 reference")
        host, rest = text[: end + 1], text[end + 1 :]
        if not _IPV6_RE.match(host):
            raise SipParseError("invalid IPv6 reference")
    else:
        host, _, portpart = text.partition(":")
        rest = ":" + portpart if _ else ""
        if not host or not _HOSTNAME_RE.match(host):
            raise SipParseError(f"invalid host {host[:64]!r}")
    if not rest:
        return host, None
    if not rest.startswith(":") or not rest[1:].isdigit() or not rest[1:].isascii():
        raise SipParseError("invalid port")
    if len(rest) > 6 or int(rest[1:]) > 65535:
        raise SipParseError("port out of range")
    return host, int(rest[1:])


def parse_hostport(text: str) -> tuple[str, int | None]:
    """Parse ``host[:port]`` (hostname, IPv4 or ``[IPv6]``)."""
    return _parse_hostport(text)
