"""SDP (RFC 4566) parsing/serialisation and RFC 3264 offer/answer for audio.

Lines are kept in order, so ``SessionDescription.parse(x).serialize() == x`` for any
CRLF-terminated SDP; structured views (rtpmap, fmtp, direction...) are computed from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_SDP = 16384
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
STATIC_PT = {0: ("PCMU", 8000, 1), 3: ("GSM", 8000, 1), 8: ("PCMA", 8000, 1),
             9: ("G722", 8000, 1), 18: ("G729", 8000, 1)}


class SdpError(ValueError):
    """Malformed SDP, or an offer/answer failure (map to SIP 488 Not Acceptable Here)."""


Line = tuple[str, str]


@dataclass
class Codec:
    name: str
    clock_rate: int
    channels: int = 1
    payload_type: int = 0
    fmtp: str | None = None

    def rtpmap(self) -> str:
        chans = f"/{self.channels}" if self.channels != 1 else ""
        return f"{self.payload_type} {self.name}/{self.clock_rate}{chans}"

    def matches(self, other: Codec) -> bool:
        return (self.name.lower(), self.clock_rate, self.channels) == (
            other.name.lower(), other.clock_rate, other.channels)


PCMU = Codec("PCMU", 8000, 1, 0)
PCMA = Codec("PCMA", 8000, 1, 8)
G722 = Codec("G722", 8000, 1, 9)
OPUS = Codec("opus", 48000, 2, 111, "minptime=10;useinbandfec=1")
TELEPHONE_EVENT = Codec("telephone-event", 8000, 1, 101, "0-16")
DEFAULT_CODECS = (PCMU, PCMA, TELEPHONE_EVENT)


def _split_attr(value: str) -> tuple[str, str | None]:
    name, colon, rest = value.partition(":")
    return name, rest if colon else None


@dataclass
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: list[str]
    lines: list[Line] = field(default_factory=list)  # lines after m=, in order
    port_count: int | None = None

    @property
    def m_value(self) -> str:
        port = f"{self.port}/{self.port_count}" if self.port_count else str(self.port)
        return " ".join([self.media, port, self.proto, *self.formats])

    @property
    def attributes(self) -> list[tuple[str, str | None]]:
        return [_split_attr(v) for k, v in self.lines if k == "a"]

    def attr(self, name: str) -> str | None:
        return next((v if v is not None else "" for k, v in self.attributes if k == name), None)

    def attrs(self, name: str) -> list[str]:
        return [v or "" for k, v in self.attributes if k == name]

    @property
    def connection_address(self) -> str | None:
        c = next((v for k, v in self.lines if k == "c"), None)
        return c.split()[2].split("/")[0] if c and len(c.split()) >= 3 else None

    @property
    def direction(self) -> str | None:
        return next((k for k, _ in self.attributes if k in DIRECTIONS), None)

    @property
    def ptime(self) -> int | None:
        value = self.attr("ptime")
        return int(value) if value and value.isdigit() else None

    @property
    def rtcp_port(self) -> int:
        value = self.attr("rtcp")
        if value and value.split()[0].isdigit():
            return int(value.split()[0])
        return self.port + 1

    def codecs(self) -> list[Codec]:
        """Codecs in the order of the m-line formats (static ones need no rtpmap)."""
        maps: dict[int, Codec] = {}
        for value in self.attrs("rtpmap"):
            pt_text, _, enc = value.partition(" ")
            parts = enc.strip().split("/")
            if not pt_text.isdigit() or len(parts) < 2 or not parts[1].isdigit():
                raise SdpError(f"bad rtpmap {value!r}")
            chans = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
            maps[int(pt_text)] = Codec(parts[0], int(parts[1]), chans, int(pt_text))
        for value in self.attrs("fmtp"):
            pt_text, _, params = value.partition(" ")
            if pt_text.isdigit() and int(pt_text) in maps:
                maps[int(pt_text)].fmtp = params.strip()
        out = []
        for fmt in self.formats:
            if not fmt.isdigit():
                continue
            pt = int(fmt)
            if pt in maps:
                out.append(maps[pt])
            elif pt in STATIC_PT:
                name, rate, chans = STATIC_PT[pt]
                out.append(Codec(name, rate, chans, pt))
        return out


@dataclass
class SessionDescription:
    lines: list[Line] = field(default_factory=list)  # session-level lines incl. v, o, s
    media: list[MediaDescription] = field(default_factory=list)

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        if isinstance(data, bytes):
            if len(data) > MAX_SDP:
                raise SdpError("SDP too large")
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise SdpError("SDP is not UTF-8") from None
        sdp = cls()
        current: MediaDescription | None = None
        raw_lines = data.split("\n")
        if raw_lines and raw_lines[-1] == "":
            raw_lines.pop()
        for raw in raw_lines:
            line = raw.removesuffix("\r")
            if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
                raise SdpError(f"malformed SDP line {line[:40]!r}")
            kind, value = line[0], line[2:]
            if kind == "m":
                parts = value.split()
                if len(parts) < 4:
                    raise SdpError("malformed m= line")
                port_text, _, count = parts[1].partition("/")
                if not port_text.isdigit() or int(port_text) > 65535 or (count and not count.isdigit()):
                    raise SdpError("bad media port")
                current = MediaDescription(parts[0], int(port_text), parts[2], parts[3:],
                                           port_count=int(count) if count else None)
                sdp.media.append(current)
            elif current is None:
                sdp.lines.append((kind, value))
            else:
                current.lines.append((kind, value))
        if not sdp.lines or sdp.lines[0] != ("v", "0"):
            raise SdpError("SDP must start with v=0")
        if sdp.origin is None:
            raise SdpError("missing o= line")
        return sdp

    def serialize(self) -> bytes:
        out = [f"{k}={v}" for k, v in self.lines]
        for m in self.media:
            out.append(f"m={m.m_value}")
            out.extend(f"{k}={v}" for k, v in m.lines)
        return ("\r\n".join(out) + "\r\n").encode("utf-8")

    def _line(self, kind: str) -> str | None:
        return next((v for k, v in self.lines if k == kind), None)

    @property
    def origin(self) -> str | None:
        return self._line("o")

    @property
    def session_version(self) -> int:
        o = (self.origin or "").split()
        return int(o[2]) if len(o) > 2 and o[2].isdigit() else 0

    @property
    def connection_address(self) -> str | None:
        c = self._line("c")
        return c.split()[2].split("/")[0] if c and len(c.split()) >= 3 else None

    @property
    def direction(self) -> str | None:
        return next((_split_attr(v)[0] for k, v in self.lines
                     if k == "a" and _split_attr(v)[0] in DIRECTIONS), None)

    def media_direction(self, m: MediaDescription) -> str:
        return m.direction or self.direction or "sendrecv"

    def media_address(self, m: MediaDescription) -> str | None:
        return m.connection_address or self.connection_address


@dataclass
class NegotiatedAudio:
    """Result of offer/answer for the audio stream."""

    codec: Codec
    telephone_event: int | None
    remote_address: str | None
    remote_port: int
    remote_rtcp_port: int
    direction: str  # our direction: what we may do
    ptime: int = 20


def _session(username: str, session_id: int, version: int, address: str) -> list[Line]:
    ip = "IP6" if ":" in address else "IP4"
    return [("v", "0"), ("o", f"{username} {session_id} {version} IN {ip} {address}"),
            ("s", "-"), ("c", f"IN {ip} {address}"), ("t", "0 0")]


def _audio_media(port: int, codecs: list[Codec], direction: str, ptime: int) -> MediaDescription:
    m = MediaDescription("audio", port, "RTP/AVP", [str(c.payload_type) for c in codecs])
    for c in codecs:
        m.lines.append(("a", f"rtpmap:{c.rtpmap()}"))
        if c.fmtp:
            m.lines.append(("a", f"fmtp:{c.payload_type} {c.fmtp}"))
    m.lines.append(("a", f"ptime:{ptime}"))
    m.lines.append(("a", direction))
    return m


def make_offer(address: str, port: int, codecs: tuple[Codec, ...] | list[Codec] = DEFAULT_CODECS,
               *, direction: str = "sendrecv", session_id: int = 1, version: int = 1,
               username: str = "voicelane", ptime: int = 20) -> SessionDescription:
    if direction not in DIRECTIONS:
        raise ValueError(f"bad direction {direction!r}")
    return SessionDescription(_session(username, session_id, version, address),
                              [_audio_media(port, list(codecs), direction, ptime)])


def _answer_direction(offered: str, local: str) -> str:
    can_send = offered in ("sendrecv", "recvonly") and local in ("sendrecv", "sendonly")
    can_recv = offered in ("sendrecv", "sendonly") and local in ("sendrecv", "recvonly")
    return {(True, True): "sendrecv", (True, False): "sendonly",
            (False, True): "recvonly", (False, False): "inactive"}[(can_send, can_recv)]


def _pick(offered: list[Codec], supported: list[Codec]) -> tuple[Codec | None, Codec | None]:
    audio = dtmf = None
    for oc in offered:
        if any(oc.matches(sc) for sc in supported):
            if oc.name.lower() == "telephone-event":
                dtmf = dtmf or oc
            elif audio is None:
                audio = oc
    return audio, dtmf


def answer(offer: SessionDescription, supported: tuple[Codec, ...] | list[Codec],
           address: str, port: int, *, direction: str = "sendrecv", session_id: int = 1,
           version: int = 1, username: str = "voicelane", ptime: int = 20,
           ) -> tuple[SessionDescription, NegotiatedAudio]:
    """Answer the first active audio stream with the offerer's first codec we support
    (plus telephone-event if both have it); other streams are rejected with port 0."""
    sdp = SessionDescription(_session(username, session_id, version, address))
    chosen: NegotiatedAudio | None = None
    for m in offer.media:
        if chosen is None and m.media == "audio" and m.port != 0 and "RTP/" in m.proto:
            audio, dtmf = _pick(m.codecs(), list(supported))
            if audio is None:
                raise SdpError("no common audio codec")
            ours = _answer_direction(offer.media_direction(m), direction)
            codecs = [audio] + ([dtmf] if dtmf else [])
            ans = _audio_media(port, codecs, ours, m.ptime or ptime)
            ans.proto = m.proto
            sdp.media.append(ans)
            chosen = NegotiatedAudio(audio, dtmf.payload_type if dtmf else None,
                                     offer.media_address(m), m.port, m.rtcp_port, ours,
                                     m.ptime or ptime)
        else:
            sdp.media.append(MediaDescription(m.media, 0, m.proto, m.formats[:1] or ["0"]))
    if chosen is None:
        raise SdpError("offer has no usable audio stream")
    return sdp, chosen


def accept_answer(offer: SessionDescription, answer_sdp: SessionDescription) -> NegotiatedAudio:
    """Offerer side: read the negotiated audio codec and remote address from an answer."""
    for om, am in zip(offer.media, answer_sdp.media, strict=False):
        if om.media != "audio" or am.port == 0:
            continue
        ours = {c.name.lower(): c for c in om.codecs()}
        audio = next((c for c in am.codecs() if c.name.lower() in ours
                      and c.name.lower() != "telephone-event"), None)
        if audio is None:
            raise SdpError("answer selected no codec from the offer")
        dtmf = next((c.payload_type for c in am.codecs() if c.name.lower() == "telephone-event"), None)
        remote_dir = answer_sdp.media_direction(am)
        mine = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
                "inactive": "inactive"}[remote_dir]
        return NegotiatedAudio(audio, dtmf, answer_sdp.media_address(am), am.port,
                               am.rtcp_port, mine,
                               am.ptime or om.ptime or 20)
    raise SdpError("answer accepted no audio stream")
