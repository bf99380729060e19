"""The softphone page in headless Chromium and a phone (sipp) in one call, both ways, on
loopback: the real page, Chrome's own WebRTC stack (ICE, DTLS-SRTP, Opus 48 kHz), the real
API and node, G.711 through a trunk or the node's SIP port on the phone's side.

- Browser to phone: the page takes a session with ``to`` (minted as the customer's backend
  would) in its fragment and calls; sipp answers on the trunk (PCMA) and echoes the RTP. The fake
  microphone plays a tone, so what the page receives once the phone answered crossed the
  bridge both ways (a bridge never plays a leg its own audio, and nothing plays to the browser
  before the phone answers). The page's Hang up button ends both legs.
- Phone to browser: the page registers with a client token and answers by itself
  (``autoanswer=1``); sipp calls the number routed to the identity, streams a 440 Hz tone for
  4 s and hangs up.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from voicelane_local.media_node import LocalNode

from tests.interop.sipp_helpers import SCENARIOS, Api, Sipp, free_udp_port, requires_sipp
from tests.voicelane_media.transports.webrtc.chromium import (
    CHROMIUM,
    Chromium,
    Page,
    fake_mic_wav,
    softphone_url,
)
from tests.voicelane_media.transports.webrtc.phones import (
    PHONE,
    caller_tone,
    client_number,
    leg_of,
    phone_session,
    tone,
)

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(90),
              pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")]
ARTIFACTS = Path(__file__).resolve().parents[4] / ".voicelane" / "artifacts"
# totalAudioEnergy (the sum of audioLevel^2 x seconds, WebRTC stats) that only audio makes: a
# second of the echoed tone is about 0.05, silence (Opus DTX or zeros) 0.
HEARD = 0.01
# how long sipp's caller talks before it hangs up: the media path of a loaded machine (load 16+)
# has taken 3 s to carry the first packets to the page; 4 s leave half of it to be heard
CALLER_S = 4


def _types(page: Page) -> list[str]:
    return [str(n.get("type")) for n in page.get("callEvents", [])]


def _energy(page: Page) -> float:
    inbound = page.get("stats", {}).get("inbound") or {}
    return float(inbound.get("totalAudioEnergy") or 0.0)


def _packets(page: Page) -> int:
    inbound = page.get("stats", {}).get("inbound") or {}
    return int(inbound.get("packetsReceived") or 0)


def _keep(shot: Path, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / name)


def test_the_softphone_page_calls_a_phone_hears_its_echo_and_hangs_up_both_legs(
        api: Api, rtc_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    # answers (PCMA), echoes the RTP and exits as soon as it answered our BYE
    phone = sipp("-sf", str(SCENARIOS / "uas_answer_bye.xml"), "-rtp_echo", "-mp",
                 str(free_udp_port()), timeout_s=80)  # its whole life, Chromium's start too
    session, number = phone_session(api, phone.port)
    call_id = session["call_id"]
    wav = fake_mic_wav(tmp_path / "mic.wav", tone(1000, 30))
    page_url = softphone_url(rtc_node.public_url, {
        "url": session["connect_url"], "token": session["token"],
        "ice": json.dumps(session["ice_servers"]), "autostart": "1"})

    async def browse() -> tuple[Page, Page, list[dict[str, Any]]]:
        async with Chromium(page_url, wav) as browser:
            answered = await browser.wait_page(lambda p: "answered" in _types(p), 20,
                                               "the phone's answer")
            # while the call is up: both records answered (in progress)
            live = await asyncio.to_thread(
                lambda: [api.wait_status(call_id, {"in_progress"}),
                         api.wait_status(leg_of(api, call_id)["id"], {"in_progress"})])
            at_answer, packets = _energy(answered), _packets(answered)
            # a second of packets (50) since the answer carrying clearly more than silence (with
            # sipp answering but not echoing, the page gets Opus silence: energy stays 0)
            heard = await browser.wait_page(
                lambda p: _packets(p) - packets >= 50 and _energy(p) - at_answer > HEARD, 15,
                "the phone's echo")
            await browser.screenshot(tmp_path / "mid.png")
            await browser.click("hangup")
            ended = await browser.wait_page(lambda p: p.get("state") in ("ended", "failed"), 10,
                                            "the end of the call")
            return answered, {**ended, "heardEnergy": _energy(heard) - at_answer}, live

    answered, page, (browser_live, leg_live) = asyncio.run(browse())
    _keep(tmp_path / "mid.png", "softphone-phone-mid-call.png")
    assert page["error"] is None, page
    assert _types(answered)[:2] == ["dialing", "answered"], answered["callEvents"]
    assert answered["callEvents"][1]["bridged_call_id"] == leg_live["id"]
    assert page["state"] == "ended" and "hangup 200" in page["events"], page["events"]
    print(f"\nchromium -> sipp -> chromium: {page['heardEnergy']:.3f} of audio energy after "
          f"the answer, {_packets(page)} packets in")

    assert (browser_live["from_channel"], browser_live["to_channel"], browser_live["to"],
            browser_live["caller_id"]) == ("webrtc", "pstn", PHONE, number)
    assert (leg_live["parent_call_id"], leg_live["leg_purpose"], leg_live["to"]) == (
        call_id, "browser_to_phone", PHONE)
    # while bridged, each record names the other (written before the page hears "answered")
    assert (browser_live["bridged_call_id"], leg_live["bridged_call_id"]) == (
        leg_live["id"], call_id)
    browser = api.wait_status(call_id, {"completed", "failed"})
    assert (browser["status"], browser["end_reason"]) == ("completed", "hangup_by_caller")
    leg = api.wait_status(leg_live["id"], {"completed", "failed"})
    assert (leg["status"], leg["end_reason"]) == ("completed", "bridge_ended")
    assert leg["quality"]["packets_received"] > 50, leg["quality"]  # sipp's echo
    bridged = {e["details"]["bridged_call_id"] for e in api.events(call_id)
               if e["type"] == "call.bridged"}
    assert bridged == {leg["id"]}
    assert api.wait_event(leg["id"], "call.bridged")["details"]["bridged_call_id"] == call_id
    assert {"call.answered", "call.completed"} <= set(api.event_types(leg["id"]))
    assert phone.wait(10) == 0, phone.output()


def test_a_phone_rings_the_softphone_page_which_answers_and_hears_it(
        api: Api, rtc_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    identity = f"carol-{time.time_ns()}"
    number = client_number(api, identity)
    minted = api.ok(api.post("/v1/client_tokens", {"identity": identity}))
    caller_tone(tmp_path, seconds=CALLER_S + 0.5)
    wav = fake_mic_wav(tmp_path / "mic.wav", tone(1000, 30))
    page_url = softphone_url(rtc_node.public_url, {
        "register": minted["register_url"], "ctoken": minted["token"],
        "ice": json.dumps(minted["ice_servers"]), "autoanswer": "1"})

    async def ring() -> tuple[Page, Page, Sipp]:
        async with Chromium(page_url, wav) as browser:
            await browser.wait_page(lambda p: p.get("registered") == identity, 15,
                                    "its registration")
            caller = sipp("-sf", str(SCENARIOS / "uac_tone_to_client.xml"), "-s", number,
                          "-d", str(CALLER_S * 1000), "-mi", "127.0.0.1",
                          target=f"127.0.0.1:{rtc_node.sip_port}", timeout_s=60)
            answered = await browser.wait_page(
                lambda p: "answered" in _types(p) and p.get("state") == "in call", 20,
                "the call answered")
            await browser.wait_page(lambda p: _energy(p) > HEARD, 10, "the caller's tone")
            await browser.screenshot(tmp_path / "mid.png")
            # sipp hangs up CALLER_S after the answer
            ended = await browser.wait_page(lambda p: p.get("state") == "ended", 20,
                                            "the caller's hangup")
            return answered, ended, caller

    answered, page, caller = asyncio.run(ring())
    _keep(tmp_path / "mid.png", "softphone-incoming-mid-call.png")
    assert caller.wait(15) == 0, caller.output()
    assert page["error"] is None, page
    notes = page["callEvents"]
    assert _types(page) == ["registered", "incoming", "answered", "ended"], notes
    assert (notes[1]["from"], notes[1]["to"]) == ("+15105550111", number)
    inbound = page["stats"]["inbound"]
    assert inbound["packetsReceived"] >= 50 and _energy(page) > HEARD, inbound  # 1 s of 4
    print(f"\nsipp -> chromium: {_energy(page):.3f} of audio energy, "
          f"{inbound['packetsReceived']} packets in")

    call = api.wait_status(notes[1]["call_id"], {"completed", "failed", "busy", "no_answer"})
    assert (call["status"], call["end_reason"], call["to"]) == (
        "completed", "hangup_by_caller", number)
    assert call["quality"]["packets_received"] > 100, call["quality"]
    types = api.event_types(call["id"])
    assert types[:2] == ["call.initiated", "call.client.ringing"], types
    assert {"call.answered", "call.client.answered", "call.bridged"} <= set(types), types
    assert types[-1] == "call.completed", types
    assert answered["incoming"]["call_id"] == call["id"]
