"""RFC 3261 section 25 lexical helpers: tokens, quoted strings, parameters, comma lists.

Everything here works on already-decoded ``str`` header values (folding already
replaced by a single space) and raises :class:`SipParseError` on bad input.
"""

from __future__ import annotations

import string


class SipParseError(ValueError):
    """A SIP message or header value does not follow the RFC 3261 grammar."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: RFC 3261 ``token`` characters.
TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-.!%*_+`'~")
#: RFC 3261 ``word`` characters (Call-ID).
WORD_CHARS = TOKEN_CHARS | frozenset('()<>:\\"/[]?{}')
WSP = " \t"

Params = list[tuple[str, str | None]]


def is_token(value: str) -> bool:
    return bool(value) and all(c in TOKEN_CHARS for c in value)


def is_word(value: str) -> bool:
    return bool(value) and all(c in WORD_CHARS for c in value)


def quote(value: str) -> str:
    """Return ``value`` as a quoted-string, escaping ``"`` and ``\\``."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read a quoted-string starting at ``text[start] == '"'``.

    Returns the unescaped content and the index just after the closing quote.
    """
    if start >= len(text) or text[start] != '"':
        raise SipParseError("expected quoted string")
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                break
            nxt = text[i + 1]
            if nxt in "\r\n":
                raise SipParseError("invalid escape in quoted string")
            out.append(nxt)
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        if c in "\r\n":
            raise SipParseError("line break in quoted string")
        out.append(c)
        i += 1
    raise SipParseError("unterminated quoted string")


def unquote(value: str) -> str:
    """Unquote a parameter value if it is a quoted-string, else return it unchanged."""
    if value.startswith('"'):
        content, end = read_quoted(value, 0)
        if end != len(value):
            raise SipParseError("garbage after quoted string")
        return content
    return value


def split_top_level(text: str, sep: str, limit: int = 1024) -> list[str]:
    """Split on ``sep`` outside quoted strings and ``<...>``; items are stripped.

    At most ``limit`` items are produced (bounded work on hostile input).
    """
    items: list[str] = []
    buf_start = 0
    i = 0
    n = len(text)
    in_angle = False
    while i < n:
        c = text[i]
        if c == '"' and not in_angle:
            _, i = read_quoted(text, i)
            continue
        if c == "<":
            if in_angle:
                raise SipParseError("nested '<'")
            in_angle = True
        elif c == ">":
            in_angle = False
        elif c == sep and not in_angle:
            items.append(text[buf_start:i].strip(WSP))
            if len(items) >= limit:
                raise SipParseError("too many list items")
            buf_start = i + 1
        i += 1
    if in_angle:
        raise SipParseError("unterminated '<'")
    items.append(text[buf_start:].strip(WSP))
    return items


def split_commas(value: str) -> list[str]:
    """Split a multi-value header (``#element``) on commas, ignoring empty elements."""
    return [item for item in split_top_level(value, ",") if item]


def parse_params(text: str) -> Params:
    """Parse ``;name=value;flag`` (leading ``;`` optional) into ordered pairs.

    Names are tokens (compared case-insensitively by :func:`get_param`); values may be
    tokens, host names, IPv6 references or quoted strings (kept quoted).
    """
    params: Params = []
    text = text.strip(WSP)
    if not text:
        return params
    if text.startswith(";"):
        text = text[1:]
    for item in split_top_level(text, ";", limit=256):
        if not item:
            raise SipParseError("empty parameter")
        name, eq, value = item.partition("=")
        name = name.strip(WSP)
        if not is_token(name):
            raise SipParseError(f"invalid parameter name {name!r}")
        if not eq:
            params.append((name, None))
            continue
        value = value.strip(WSP)
        if value.startswith('"'):
            unquote(value)  # validates
        elif not value or not all(c in TOKEN_CHARS or c in "[]:" for c in value):
            raise SipParseError(f"invalid value for parameter {name!r}")
        params.append((name, value))
    return params


def format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def get_param(params: Params, name: str) -> str | None:
    """Value of parameter ``name`` (unquoted); ``""`` for a flag; ``None`` if absent."""
    lname = name.lower()
    for k, v in params:
        if k.lower() == lname:
            return "" if v is None else unquote(v)
    return None


def has_param(params: Params, name: str) -> bool:
    lname = name.lower()
    return any(k.lower() == lname for k, _ in params)


def set_param(params: Params, name: str, value: str | None) -> Params:
    """Return a copy with ``name`` replaced (or appended) with ``value``."""
    lname = name.lower()
    out = [(k, v) for k, v in params if k.lower() != lname]
    replaced = len(out) != len(params)
    if replaced:
        idx = next(i for i, (k, _) in enumerate(params) if k.lower() == lname)
        out.insert(idx, (name, value))
    else:
        out.append((name, value))
    return out
