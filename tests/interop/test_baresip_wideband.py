"""Wideband calls with a real softphone: the node dials baresip 1.0 (Debian package `baresip`)
through a trunk whose codecs are Opus, then one whose codecs are G.722; and baresip calls the
node's number over G.722 (inbound). Audio flows both ways: baresip's `aufile` source sends a
5 kHz tone, the node plays a 6 kHz tone (the `play` command); both are above 4 kHz, which a
G.711 leg cannot carry. baresip's `sndfile` filter records what it decoded; the node's recording
is at 16 kHz with the caller's tone on the left channel."""

from __future__ import annotations

import io
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from voicelane_local.media_node import LocalNode

from tests.interop.sipp_helpers import Api, download_recording, free_udp_port, new_number

BARESIP = shutil.which("baresip")
pytestmark = [pytest.mark.skipif(BARESIP is None, reason="baresip is not installed (make apt)"),
              pytest.mark.timeout(60)]
CALLEE = "+14155550123"  # baresip routes on the Request-URI user: its account's user


def write_tone(path: Path, freq: float, seconds: float, rate: int = 16000,
               channels: int = 1) -> None:
    t = np.arange(int(rate * seconds)) / rate
    pcm = np.repeat((np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16), channels)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def read_wav(data: bytes) -> tuple[int, np.ndarray]:
    """(rate, first channel as float) of a 16-bit WAV."""
    with wave.open(io.BytesIO(data)) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return rate, samples.reshape(-1, channels)[:, 0].astype(np.float64)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spectrum) * rate / x.size)


def loud(x: np.ndarray) -> np.ndarray:
    """The part of a recording where something was heard (20 ms frames above -40 dBFS)."""
    frames = x[: x.size // 320 * 320].reshape(-1, 320)
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    return frames[rms > 300].reshape(-1)


@pytest.fixture(scope="module")
def tone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An HTTP server on loopback with the 6 kHz tone the node plays."""
    root = tmp_path_factory.mktemp("tones")
    write_tone(root / "tone6k.wav", 6000, 2.0)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tone6k.wav"
    server.shutdown()
    server.server_close()


class Baresip:
    """baresip on loopback, answering every call (or dialling ``dial``, a SIP URI), sending a
    5 kHz tone, recording what it hears."""

    def __init__(self, home: Path, codec: str, dial: str | None = None) -> None:
        self.home = home
        self.port = free_udp_port()
        rtp = free_udp_port()
        # aufile reads at the codec's own rate and channels (opus/48000/2), no conversion
        parts = codec.split("/")
        write_tone(home / "tone5k.wav", 5000, 30.0, int(parts[1]), int(parts[2]))
        (home / "config").write_text(
            f"poll_method epoll\nsip_listen 127.0.0.1:{self.port}\nnet_interface 127.0.0.1\n"
            f"audio_source aufile,{home / 'tone5k.wav'}\naudio_player aufile,/dev/null\n"
            f"audio_alert aufile,/dev/null\nrtp_ports {rtp}-{rtp + 10}\n"
            f"module_path /usr/lib/baresip/modules\nmodule opus.so\n"
            f"module g722.so\nmodule g711.so\nmodule aufile.so\nmodule sndfile.so\n"
            f"module_app account.so\nmodule_app menu.so\nsnd_path {home}\n")
        (home / "accounts").write_text(
            f"<sip:{CALLEE}@127.0.0.1>;regint=0;answermode=auto;audio_codecs={codec}\n")
        self.log = (home / "baresip.log").open("wb")
        commands = ["-e", f"/dial {dial}"] if dial is not None else []
        self.proc = subprocess.Popen([str(BARESIP), "-f", str(home), "-t", "40", *commands],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=home)
        time.sleep(0.5)

    def heard(self) -> bytes:
        """The WAV of what baresip decoded (sndfile writes `dump-...-dec.wav`)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            files = sorted(self.home.glob("*dec*.wav"))
            if files and files[0].stat().st_size > 44:
                return files[0].read_bytes()
            time.sleep(0.1)
        raise AssertionError(f"baresip recorded nothing: {(self.home / 'baresip.log').read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.mark.parametrize(("codec", "baresip_codec"), [("opus", "opus/48000/2"),
                                                      ("G722", "G722/16000/1")])
def test_wideband_call_carries_audio_above_4khz_both_ways(
        api: Api, media_node: LocalNode, tone_server: str, tmp_path: Path,
        codec: str, baresip_codec: str) -> None:
    phone = Baresip(tmp_path, baresip_codec)
    try:
        api.ok(api.post("/v1/trunks", {"name": f"baresip-{codec}", "host": "127.0.0.1",
                                       "port": phone.port, "codecs": [codec, "PCMU"]}))
        number = new_number()
        api.ok(api.post("/v1/numbers", {"number": number}))
        call_id = str(api.ok(api.post("/v1/calls", {"from": number, "to": CALLEE,
                                                     "recording": True}))["id"])
        api.wait_status(call_id, {"in_progress"})
        assert api.action(call_id, "play", {"url": tone_server}).status_code in (200, 202)
        api.wait_event(call_id, "call.playback.ended", timeout_s=15)
        api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
        done = api.wait_status(call_id, {"completed"})
        api.wait_event(call_id, "call.recording.saved")
        _, wav = download_recording(api, call_id)
        heard_by_phone = phone.heard()
    finally:
        phone.stop()
    assert_tones_both_ways(done, wav, heard_by_phone)


def assert_tones_both_ways(done: dict[str, object], wav: bytes, heard_by_phone: bytes) -> None:
    """The node heard baresip's 5 kHz tone at 16 kHz, and baresip decoded the node's 6 kHz."""
    quality = done["quality"]
    assert isinstance(quality, dict)
    assert quality["packets_received"] > 50, quality
    assert quality["decode_errors"] == 0, quality
    # the node ran the leg at 16 kHz and heard baresip's 5 kHz tone
    rate, caller = read_wav(wav)
    assert rate == 16000
    assert loud(caller).size >= 16000, "the node heard less than a second of baresip's tone"
    assert abs(peak_hz(loud(caller), rate) - 5000) < 30
    # baresip decoded the node's 6 kHz tone
    rate, phone_side = read_wav(heard_by_phone)
    assert rate >= 16000
    assert loud(phone_side).size >= rate, "baresip heard less than a second of the node's tone"
    assert abs(peak_hz(loud(phone_side), rate) - 6000) < 30


def test_baresip_calls_the_node_over_g722_and_audio_flows_both_ways(
        api: Api, media_node: LocalNode, tone_server: str, tmp_path: Path) -> None:
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))  # no agent: the app answers by command
    # the trunk the INVITE comes from (its host's address) decides the codecs: G.722 first
    api.ok(api.post("/v1/trunks", {"name": "baresip-in", "host": "127.0.0.1",
                                   "codecs": ["G722", "PCMU"]}))
    phone = Baresip(tmp_path, "G722/16000/1", dial=f"sip:{number}@127.0.0.1:{media_node.sip_port}")
    try:
        call_id = api.wait_event_for_number(number)
        assert api.action(call_id, "answer").status_code in (200, 202)
        api.wait_status(call_id, {"in_progress"})
        assert api.action(call_id, "record_start").status_code in (200, 202)
        assert api.action(call_id, "play", {"url": tone_server}).status_code in (200, 202)
        api.wait_event(call_id, "call.playback.ended", timeout_s=15)
        api.ok(api.post(f"/v1/calls/{call_id}/hangup"))
        done = api.wait_status(call_id, {"completed"})
        api.wait_event(call_id, "call.recording.saved")
        _, wav = download_recording(api, call_id)
        heard_by_phone = phone.heard()
    finally:
        phone.stop()
    assert done["direction"] == "inbound"
    assert_tones_both_ways(done, wav, heard_by_phone)
