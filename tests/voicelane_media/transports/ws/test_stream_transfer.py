"""A transfer on a media stream (no REFER there): the target is dialled as a SIP leg of the
call and bridged to the stream, with sipp as the target."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import numpy as np
import pytest
from voicelane_local.media_node import LocalNode
from voicelane_local.stream_provider import StreamPeer

from tests.interop.sipp_helpers import SIPP, Api, free_udp_port, requires_sipp

pytestmark = pytest.mark.usefixtures("fake_engines")


@requires_sipp
def test_a_transfer_on_a_stream_bridges_it_to_a_sip_leg(
        api: Api, ws_node: LocalNode, tmp_path: Path) -> None:
    """A stream has no REFER: the transfer dials the target as a leg of the call (sipp, which
    echoes the RTP it receives) and bridges the two, so the stream's caller hears its own tone
    back through the SIP leg; both records name each other while bridged."""
    port, media_port = free_udp_port(), free_udp_port()
    target = subprocess.Popen(
        [str(SIPP), "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-nostdin",
         "-rtp_echo", "-mp", str(media_port), "-timeout", "20s", "-timeout_error"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    session = api.ok(api.post("/v1/sessions", {"connection_type": "twilio"}))  # no agent
    call_id = session["call_id"]
    tone = (np.sin(2 * np.pi * 700 * np.arange(8000 * 2) / 8000) * 8000).astype(np.int16)
    legs: list[str] = []

    def transfer() -> None:
        api.wait_event(call_id, "call.answered")
        api.ok(api.post(f"/v1/calls/{call_id}/actions/transfer",
                        {"to": f"sip:desk@127.0.0.1:{port}"}))
        api.wait_event(call_id, "call.bridged")
        legs.append(api.ok(api.get(f"/v1/calls/{call_id}"))["bridged_call_id"])

    async def caller() -> StreamPeer:
        async with StreamPeer(session["connect_url"], token=session["token"]) as peer:
            await peer.begin()
            await peer.silence(300)
            await asyncio.gather(asyncio.to_thread(transfer), peer.silence(1500))
            peer.heard.audio.clear()
            await peer.stream(tone)
            await peer.silence(300)
            await asyncio.to_thread(api.ok, api.post(f"/v1/calls/{call_id}/hangup", {}))
            await peer.closed(5)
        return peer

    try:
        peer = asyncio.run(caller())
        assert target.wait(timeout=20) == 0
    finally:
        if target.poll() is None:
            target.kill()
    leg = api.wait_status(legs[0], {"completed", "failed", "canceled"}, 20)
    assert leg["parent_call_id"] == call_id and leg["leg_purpose"] == "transfer", leg
    assert leg["end_reason"] == "bridged_party_hangup", leg
    heard = np.concatenate(peer.heard.audio).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(heard))
    freqs = np.fft.rfftfreq(heard.shape[0], 1 / 8000)
    assert abs(freqs[int(np.argmax(spectrum[1:])) + 1] - 700) < 20  # its tone, echoed back
    assert np.sqrt(np.mean(heard ** 2)) > 500
