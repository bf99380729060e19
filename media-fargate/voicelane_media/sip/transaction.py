"""RFC 3261 section 17 transactions (with the RFC 6026 Accepted state) as pure state machines.

Each transaction is driven by explicit inputs -- messages and the current time ``now``
(seconds on a monotonic clock) -- and returns a list of actions for the transport/TU:
:class:`Send`, :class:`Schedule`, :class:`Deliver`, :class:`TimedOut`, :class:`Terminated`.
A transport calls :meth:`Transaction.poll` at or after :attr:`Transaction.next_deadline`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .message import Headers, SipRequest, SipResponse


@dataclass(frozen=True)
class TimerConfig:
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0


@dataclass(frozen=True)
class Send:
    data: bytes


@dataclass(frozen=True)
class Schedule:
    timer: str
    at: float


@dataclass(frozen=True)
class Deliver:
    message: SipRequest | SipResponse


@dataclass(frozen=True)
class TimedOut:
    timer: str


@dataclass(frozen=True)
class Terminated:
    pass


Action = Send | Schedule | Deliver | TimedOut | Terminated


class Transaction:
    def __init__(self, request: SipRequest, *, reliable: bool = False,
                 config: TimerConfig | None = None) -> None:
        self.request = request
        self.reliable = reliable
        self.config = config or TimerConfig()
        self.state = "init"
        self.timers: dict[str, float] = {}
        self.intervals: dict[str, float] = {}

    @property
    def branch(self) -> str | None:
        return self.request.top_via.branch

    @property
    def terminated(self) -> bool:
        return self.state == "terminated"

    @property
    def next_deadline(self) -> float | None:
        return min(self.timers.values()) if self.timers else None

    def _start(self, name: str, now: float, interval: float, out: list[Action]) -> None:
        self.intervals[name] = interval
        self.timers[name] = now + interval
        out.append(Schedule(name, now + interval))

    def _terminate(self, out: list[Action]) -> None:
        self.state = "terminated"
        self.timers.clear()
        out.append(Terminated())

    def _wait_or_end(self, name: str, interval: float, now: float, out: list[Action]) -> None:
        """Start a wait timer, or terminate at once on reliable transports (zero wait)."""
        if self.reliable or interval <= 0:
            self._terminate(out)
        else:
            self._start(name, now, interval, out)

    def poll(self, now: float) -> list[Action]:
        out: list[Action] = []
        while not self.terminated:
            due = [(at, name) for name, at in self.timers.items() if at <= now]
            if not due:
                break
            at, name = min(due)
            del self.timers[name]
            self._fire(name, at, out)
        return out

    def _fire(self, name: str, at: float, out: list[Action]) -> None:
        raise NotImplementedError


class ClientTransaction(Transaction):
    def start(self, now: float) -> list[Action]:
        raise NotImplementedError

    def receive(self, response: SipResponse, now: float) -> list[Action]:
        raise NotImplementedError


class InviteClientTransaction(ClientTransaction):
    """Calling -> Proceeding -> Completed (non-2xx) / Accepted (2xx) -> Terminated."""

    def start(self, now: float) -> list[Action]:
        out: list[Action] = [Send(self.request.serialize())]
        self.state = "calling"
        if not self.reliable:
            self._start("A", now, self.config.t1, out)
        self._start("B", now, 64 * self.config.t1, out)
        return out

    def ack_for(self, response: SipResponse) -> SipRequest:
        """ACK for a non-2xx final response (RFC 3261 17.1.1.3)."""
        h = Headers()
        h.add("Via", self.request.headers.lines("Via")[0].split(",")[0].strip())
        for route in self.request.headers.lines("Route"):
            h.add("Route", route)
        h.add("Max-Forwards", "70")
        h.add("From", self.request._required("From"))
        h.add("To", response._required("To"))
        h.add("Call-ID", self.request.call_id)
        h.add("CSeq", f"{self.request.cseq.seq} ACK")
        h.add("Content-Length", "0")
        return SipRequest("ACK", self.request.uri, h)

    def receive(self, response: SipResponse, now: float) -> list[Action]:
        out: list[Action] = []
        status = response.status
        if self.state in ("calling", "proceeding"):
            if status < 200:
                self.state = "proceeding"
                self.timers.pop("A", None)
                out.append(Deliver(response))
            elif status < 300:
                self.state = "accepted"
                self.timers.clear()
                out.append(Deliver(response))
                self._start("M", now, 64 * self.config.t1, out)
            else:
                self.state = "completed"
                self.timers.clear()
                out.append(Send(self.ack_for(response).serialize()))
                out.append(Deliver(response))
                self._wait_or_end("D", 32.0, now, out)
        elif self.state == "completed" and status >= 300:
            out.append(Send(self.ack_for(response).serialize()))
        elif self.state == "accepted" and 200 <= status < 300:
            out.append(Deliver(response))  # 2xx retransmission: the TU re-sends its ACK
        return out

    def _fire(self, name: str, at: float, out: list[Action]) -> None:
        if name == "A" and self.state == "calling":
            out.append(Send(self.request.serialize()))
            self._start("A", at, 2 * self.intervals["A"], out)
        elif name == "B" and self.state == "calling":
            out.append(TimedOut("B"))
            self._terminate(out)
        elif name in ("D", "M"):
            self._terminate(out)


class NonInviteClientTransaction(ClientTransaction):
    """Trying -> Proceeding -> Completed -> Terminated (Timers E, F, K)."""

    def start(self, now: float) -> list[Action]:
        out: list[Action] = [Send(self.request.serialize())]
        self.state = "trying"
        if not self.reliable:
            self._start("E", now, self.config.t1, out)
        self._start("F", now, 64 * self.config.t1, out)
        return out

    def receive(self, response: SipResponse, now: float) -> list[Action]:
        out: list[Action] = []
        if self.state not in ("trying", "proceeding"):
            return out
        out.append(Deliver(response))
        if response.status < 200:
            self.state = "proceeding"
        else:
            self.state = "completed"
            self.timers.clear()
            self._wait_or_end("K", self.config.t4, now, out)
        return out

    def _fire(self, name: str, at: float, out: list[Action]) -> None:
        if name == "E" and self.state in ("trying", "proceeding"):
            out.append(Send(self.request.serialize()))
            nxt = self.config.t2 if self.state == "proceeding" else min(2 * self.intervals["E"], self.config.t2)
            self._start("E", at, nxt, out)
        elif name == "F" and self.state in ("trying", "proceeding"):
            out.append(TimedOut("F"))
            self._terminate(out)
        elif name == "K":
            self._terminate(out)


class ServerTransaction(Transaction):
    last_response: SipResponse | None = None

    def start(self, now: float) -> list[Action]:
        raise NotImplementedError

    def receive(self, request: SipRequest, now: float) -> list[Action]:
        raise NotImplementedError

    def respond(self, response: SipResponse, now: float) -> list[Action]:
        raise NotImplementedError

    def _resend_last(self, out: list[Action]) -> None:
        if self.last_response is not None:
            out.append(Send(self.last_response.serialize()))


class InviteServerTransaction(ServerTransaction):
    """Proceeding -> Completed -> Confirmed (non-2xx) / Accepted (2xx) -> Terminated."""

    def __init__(self, request: SipRequest, *, reliable: bool = False,
                 config: TimerConfig | None = None, send_trying: bool = True) -> None:
        super().__init__(request, reliable=reliable, config=config)
        self.send_trying = send_trying

    def start(self, now: float) -> list[Action]:
        from .message import make_response

        self.state = "proceeding"
        out: list[Action] = [Deliver(self.request)]
        if self.send_trying:
            self.last_response = make_response(self.request, 100)
            out.append(Send(self.last_response.serialize()))
        return out

    def respond(self, response: SipResponse, now: float) -> list[Action]:
        out: list[Action] = []
        if self.state == "accepted" and 200 <= response.status < 300:
            out.append(Send(response.serialize()))  # TU retransmits its 2xx
            return out
        if self.state != "proceeding":
            return out
        self.last_response = response
        out.append(Send(response.serialize()))
        if 200 <= response.status < 300:
            self.state = "accepted"
            self._start("L", now, 64 * self.config.t1, out)
        elif response.status >= 300:
            self.state = "completed"
            if not self.reliable:
                self._start("G", now, self.config.t1, out)
            self._start("H", now, 64 * self.config.t1, out)
        return out

    def receive(self, request: SipRequest, now: float) -> list[Action]:
        out: list[Action] = []
        if request.method == "ACK":
            if self.state == "completed":
                self.state = "confirmed"
                self.timers.clear()
                self._wait_or_end("I", self.config.t4, now, out)
            elif self.state == "accepted":
                out.append(Deliver(request))
        elif self.state in ("proceeding", "completed"):
            self._resend_last(out)  # retransmitted INVITE
        return out

    def _fire(self, name: str, at: float, out: list[Action]) -> None:
        if name == "G" and self.state == "completed":
            self._resend_last(out)
            self._start("G", at, min(2 * self.intervals["G"], self.config.t2), out)
        elif name == "H" and self.state == "completed":
            out.append(TimedOut("H"))
            self._terminate(out)
        elif name in ("I", "L"):
            self._terminate(out)


class NonInviteServerTransaction(ServerTransaction):
    """Trying -> Proceeding -> Completed -> Terminated (Timer J)."""

    def start(self, now: float) -> list[Action]:
        self.state = "trying"
        return [Deliver(self.request)]

    def respond(self, response: SipResponse, now: float) -> list[Action]:
        out: list[Action] = []
        if self.state not in ("trying", "proceeding"):
            return out
        self.last_response = response
        out.append(Send(response.serialize()))
        if response.status < 200:
            self.state = "proceeding"
        else:
            self.state = "completed"
            self._wait_or_end("J", 64 * self.config.t1, now, out)
        return out

    def receive(self, request: SipRequest, now: float) -> list[Action]:
        out: list[Action] = []
        if self.state in ("proceeding", "completed"):
            self._resend_last(out)
        return out

    def _fire(self, name: str, at: float, out: list[Action]) -> None:
        if name == "J":
            self._terminate(out)


def _branch(message: SipRequest | SipResponse) -> str:
    """The top Via branch; for an RFC 2543 peer that sends none, a stand-in from Call-ID and
    CSeq number (so its requests do not all share one transaction, and an ACK still matches
    its INVITE)."""
    return message.top_via.branch or f"rfc2543-{message.call_id}-{message.cseq.seq}"


def server_key(request: SipRequest) -> tuple[str, str, str]:
    """RFC 3261 17.2.3 matching key: (branch, sent-by, method; ACK matches INVITE)."""
    method = "INVITE" if request.method == "ACK" else request.method
    return (_branch(request), request.top_via.sent_by.lower(), method)


def client_key(message: SipRequest | SipResponse) -> tuple[str, str]:
    """RFC 3261 17.1.3 matching key: (top Via branch, CSeq method)."""
    return (_branch(message), message.cseq.method)
