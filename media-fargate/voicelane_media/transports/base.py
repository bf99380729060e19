"""What a call and its transport know of each other, for every transport (SIP/RTP, WebSocket
media streams).

The call (``calls/call.py``) drives a :class:`Transport`: answer, reject, dial, hang up, hold,
refer, send DTMF, play audio, tap the audio each way (the call records from the two taps,
``calls/recording.py``). The transport reports back
through :class:`CallEvents` (a digit, a remote hangup or hold, ringing). Transfers and bridges
belong to the call (``calls/transfer.py``): a transport only offers a REFER when it has one.
Both Protocols live here, below ``calls/``, so a transport never imports the call and
the call never imports a transport: the node plugs one into the other.

Audio crosses this boundary as PCM16 mono at the transport's native ``sample_rate`` (8 kHz for
G.711); whoever produces audio at another rate resamples it once, on its side of the boundary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from voicelane.domain.call import CallStatus
from voicelane.domain.conference import Conference
from voicelane.domain.models import Call, Number
from voicelane.domain.transfer import WarmTransferSpec

from voicelane_media.agent.leg import MediaLeg
from voicelane_media.codecs.g711 import Int16Array

T = TypeVar("T")
AudioTap = Callable[[Int16Array], None]
# Pulled once per 20 ms frame sent toward a leg that no playback fills: PCM16 at the leg's
# rate, or None for silence (a bridge's or conference's mix, ``calls/bridge.py``).
LiveSource = Callable[[], "Int16Array | None"]


@dataclass(frozen=True)
class Ending:
    """How a call ended before (or while) it was answered: final status, end_reason, cause."""

    status: CallStatus
    reason: str
    cause: int | None = None


class EarlyMediaRefused(Exception):
    """``pre_answer`` cannot run now: ``code`` says why (``early_media_not_supported``: the
    transport has no early media, WebSocket and WebRTC legs or an outbound SIP leg;
    ``call_not_ringing``: answered already; ``already_pre_answered``: in early media)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Referral:
    """What became of a REFER (RFC 3515): ``accepted`` when the peer took it (2xx), then
    ``status`` is the final status its NOTIFYs reported (408 when none came in time); else
    ``status`` is the peer's refusal of the REFER itself (405, 501, 603...)."""

    accepted: bool
    status: int


class CallEvents(Protocol):
    """What a transport needs from its call (implemented by ``calls.call.LiveCall``)."""

    ended: asyncio.Event  # set once the call is over for its transport (hangup, BYE, finish)
    caller_held: bool  # held for a transfer: the agent hears silence and no digits meanwhile

    @property
    def call(self) -> Call: ...

    @property
    def call_id(self) -> str: ...

    @property
    def finished(self) -> bool: ...

    @property
    def hangup_reason(self) -> str | None: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` as part of the call (cancelled when the call finishes)."""
        ...

    def dtmf_received(self, digit: str) -> None: ...

    def remote_hangup(self) -> None:
        """The other side ended the call (a BYE, a closed socket)."""
        ...

    def hold_changed(self, held: bool, by: str) -> None: ...

    def ringing(self, status: int) -> None:
        """An outbound call rings (``status``: the transport's progress code, e.g. SIP 180)."""
        ...

    def early_media_heard(self, details: dict[str, Any]) -> None:
        """What the network played before the answer was classified (``details["kind"]``:
        ringback, announcement, special_information_tone, silence): the `call.early_media`
        event, and the call's ``early_media``."""
        ...

    async def record_event(self, event_type: str, details: dict[str, Any]) -> None: ...

    async def check_destination(self, to: str) -> None:
        """Raise ``Forbidden`` (``destination_not_allowed``) unless the call's app may dial
        ``to``: the one destination check (``voicelane.domain.destinations``) every transfer,
        REFER or bridged leg passes before anything is sent."""
        ...

    async def send_dtmf(self, digits: str) -> None:
        """Digits with the call's events (``call.dtmf.sent``); ``w`` pauses half a second."""
        ...

    async def transfer(self, to: str) -> None:
        """A cold transfer of the call to ``to`` (REFER, else dial and bridge on this node),
        with its ``call.transfer.*`` / ``call.bridged`` events (``calls/transfer.py``)."""
        ...

    async def warm_transfer(self, spec: WarmTransferSpec) -> dict[str, Any]:
        """Hold, dial, whisper, bridge (``calls/warm_transfer.py``); the outcome."""
        ...

    async def hangup(self, reason: str) -> None: ...

    async def finish(self, target: CallStatus, end_reason: str, cause: int | None) -> None: ...


async def shielded(call: CallEvents, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` as one of ``call``'s tasks and wait for it; cancelling the waiter (an
    agent's turn cut by a barge-in) leaves the work running to its end."""
    box: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    async def run() -> None:
        try:
            result = await work
        except asyncio.CancelledError:  # the call finished under it
            box.cancel()
            raise
        except Exception as exc:
            if not box.done():
                box.set_exception(exc)
            return
        if not box.done():
            box.set_result(result)

    call.spawn(run())
    return await asyncio.shield(box)


class Transport(Protocol):
    """One call's signalling and media on one transport (``transports/sip/leg.py`` for SIP)."""

    sample_rate: int  # of the PCM16 it plays and taps
    canceled: asyncio.Event  # an inbound caller gave up before the answer

    def bind(self, events: CallEvents) -> None:
        """The call this transport reports to (set once, before any other call)."""
        ...

    @property
    def connected(self) -> bool:
        """Answered and not yet hung up: media commands may run."""
        ...

    @property
    def ringing(self) -> bool:
        """An inbound call offered to the app, not answered or rejected yet."""
        ...

    async def ring(self) -> None: ...

    async def answer(self) -> Ending | None:
        """Answer an inbound call; ``None`` once media flows, else how the call ended."""
        ...

    @property
    def early_media(self) -> bool:
        """An inbound call in early media (after :meth:`pre_answer`, before its answer or
        refusal): audio may be played toward the caller (play, speak)."""
        ...

    async def pre_answer(self) -> Ending | None:
        """Early media on a ringing inbound call: send the session's answer SDP before the
        answer (SIP 183) and start sending media, so the caller hears what is played; a later
        :meth:`answer` keeps the same media. ``None`` once media flows, else how the call
        ended (the caller gave up). Raises :class:`EarlyMediaRefused`, nothing sent."""
        ...

    async def reject(self, reason: str) -> int:
        """Refuse an inbound call (``busy``, ``unavailable``, ``not_answered``, other);
        returns the cause sent (a SIP status)."""
        ...

    async def dial(self) -> Ending | None:
        """Place an outbound call; ``None`` once answered with media flowing."""
        ...

    async def hangup(self, reason: str) -> None:
        """End from this side, whatever the state (BYE, CANCEL or a final refusal)."""
        ...

    async def hold(self, held: bool) -> dict[str, Any] | None:
        """Hold or resume; ``None`` when done, else the details of the failure."""
        ...

    async def refer(self, to: str) -> Referral | None:
        """Ask the peer to call ``to`` itself (a SIP REFER); None when the transport has no
        such thing (media streams, WebRTC): the call then dials ``to`` and bridges."""
        ...

    async def send_dtmf(self, digits: str) -> None:
        """Send digits (ValueError when the peer cannot receive them)."""
        ...

    async def play(self, pcm: Int16Array) -> int:
        """Play PCM16 at ``sample_rate``; returns samples played (fewer when cut short)."""
        ...

    def stop_playback(self) -> int: ...

    def add_audio_tap(self, tap: AudioTap) -> None:
        """Also deliver every 20 ms frame of the caller's audio (at ``sample_rate``) to ``tap``."""
        ...

    def remove_audio_tap(self, tap: AudioTap) -> None: ...

    def add_playout_tap(self, tap: AudioTap) -> None:
        """Also deliver to ``tap`` every 20 ms frame sent toward the caller (at ``sample_rate``):
        while connected, one per 20 ms of the transport's media clock, silence included when
        nothing plays, so the frames keep real time (the recording's platform channel)."""
        ...

    def remove_playout_tap(self, tap: AudioTap) -> None: ...

    def set_live_source(self, source: LiveSource | None) -> None:
        """While set, every 20 ms frame sent toward the caller that no playback (or digit)
        fills is pulled from ``source`` (at ``sample_rate``), on the transport's own media
        clock, so a bridge or conference never needs the legs' clocks to agree; ``None``
        goes back to silence. Playback (hold music, a whisper, a prompt) takes precedence."""
        ...

    def stats(self) -> dict[str, Any]:
        """Quality figures (loss, jitter, MOS...) for the call's final record."""
        ...

    def media_leg(self) -> MediaLeg:
        """The agent loop's view of this transport."""
        ...

    async def close(self) -> None: ...


class CallHost(Protocol):
    """What a transport needs from the node's calls to offer them an inbound call
    (implemented by ``calls.manager.CallManager``)."""

    def has_capacity(self) -> bool: ...

    def try_reserve(self) -> bool:
        """Hold a slot for a call being admitted (False when full or draining); give it back
        with :meth:`unreserve` once the call is handed over or refused."""
        ...

    def unreserve(self) -> None: ...

    async def inbound(self, number: Number, caller: str, headers: dict[str, str],
                      transport: Transport) -> None:
        """Create the call record and run the call to its end; raises
        ``voicelane.domain.errors.LimitExceeded`` (nothing created) when the app is at its cap."""
        ...

    async def seat_bridged(self, conference: Conference, call: Call,
                           transport: Transport) -> None:
        """Seat ``call`` (a caller on another node, bridged here over ``transport``) in
        ``conference``, which lives here, until the bridge ends."""
        ...

    async def accept(self, call: Call, transport: Transport) -> None:
        """Run a call whose media already flows (a media stream that claimed its session's
        call, now initiated on this node) from its answer to its end."""
        ...


# -- ringing a browser identity (phone to browser): asked of the transport that holds
# browsers' registrations (transports/webrtc/clients.py), driven by calls/browser_phone.py

@dataclass(frozen=True)
class RingOutcome:
    """How ringing a browser identity ended: ``answered`` (with the browser's connected
    transport, and ``gone``, set when the browser hangs up), ``unregistered``, ``rejected``,
    ``timeout`` or ``canceled``."""

    result: str
    transport: Transport | None = None
    gone: asyncio.Event | None = None


class ClientRinger(Protocol):
    """Rings the browsers registered for an identity."""

    async def ring(self, call: Call, identity: str, timeout_s: float,
                   canceled: asyncio.Event) -> RingOutcome:
        """Offer ``call`` to every registration of ``identity`` in the call's app; returns
        once one answered (and connected), all rejected, ``canceled`` was set, or timeout."""
        ...

    def ended(self, call_id: str, reason: str | None) -> None:
        """The call is over: tell the browsers that were offered it."""
        ...
