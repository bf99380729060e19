"""baresip (Debian `baresip-core` 1.0), a real softphone, as a SIP-over-TLS/SRTP peer.

What 1.0 needs, learned here: `net_interface 127.0.0.1` (not `lo`); its TLS listener is the
`sip_listen` port + 1; `aufile` is a source only, so what it hears is saved by the `sndfile`
filter (`<snd_path>/dump-<time>-dec.wav`); it takes an incoming INVITE for the account whose
user is the Request-URI user; `-e` runs a command at start and `-t` quits (hanging up) after
that many seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.interop.sipp_helpers import free_udp_port

BARESIP = shutil.which("baresip")
requires_baresip = pytest.mark.skipif(BARESIP is None, reason="baresip is not installed "
                                                              "(make setup installs baresip-core)")
MODULES = ("g711.so", "aufile.so", "srtp.so", "sndfile.so", "account.so", "menu.so")


def tone_wav(path: Path, hz: float, seconds: float) -> Path:
    """A 8 kHz mono 16-bit sine (what baresip's aufile sends)."""
    t = np.arange(int(seconds * 8000)) / 8000.0
    samples = (8000 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.tobytes())
    return path


@dataclass
class Baresip:
    """One baresip process; `tls_port` is where it takes SIP over TLS."""

    proc: subprocess.Popen[bytes]
    directory: Path
    tls_port: int

    @property
    def log(self) -> str:
        return (self.directory / "baresip.log").read_text("latin-1")

    def wait(self, timeout_s: float = 20) -> int:
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def wait_for(self, text: str, timeout_s: float = 10) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log:
                return True
            if self.proc.poll() is not None:
                return text in self.log
            time.sleep(0.05)
        return False

    def heard(self) -> np.ndarray:
        """What it received (decoded), as float samples at 8 kHz."""
        files = sorted((self.directory / "rec").glob("*-dec.wav"))
        assert files, f"baresip saved no recording; log:\n{self.log[-3000:]}"
        with wave.open(str(files[-1])) as w:
            assert (w.getframerate(), w.getnchannels()) == (8000, 1)
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


def start_baresip(directory: Path, *, user: str, certificate: Path, ca: Path,
                  source: Path, mediaenc: str | None = "srtp-mand",
                  command: str | None = None, quit_after_s: float | None = None) -> Baresip:
    """baresip on loopback with one TLS account for `user` (auto-answer), sending `source`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "rec").mkdir(exist_ok=True)
    port = free_udp_port()
    rtp = free_udp_port()
    config = [
        "poll_method epoll", f"sip_listen 127.0.0.1:{port}", f"sip_certificate {certificate}",
        f"sip_cafile {ca}", "net_interface 127.0.0.1", f"audio_source aufile,{source}",
        f"rtp_ports {rtp}-{rtp + 9}", f"snd_path {directory / 'rec'}",
        "module_path /usr/lib/baresip/modules", *(f"module {m}" for m in MODULES),
    ]
    (directory / "config").write_text("\n".join(config) + "\n")
    params = ";regint=0;answermode=auto;audio_codecs=PCMU,PCMA"
    if mediaenc:
        params += f";mediaenc={mediaenc}"
    (directory / "accounts").write_text(f"<sip:{user}@127.0.0.1;transport=tls>{params}\n")
    cmd = [str(BARESIP), "-f", str(directory)]
    if command:
        cmd += ["-e", command]
    if quit_after_s:
        cmd += ["-t", str(int(quit_after_s))]
    with (directory / "baresip.log").open("wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(cmd, cwd=directory, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    handle = Baresip(proc, directory, port + 1)
    if not command:
        assert handle.wait_for("baresip is ready", 10), handle.log
    return handle


def band_ratio(samples: np.ndarray, hz: float, width: float = 40.0) -> float:
    """Share of the signal's energy within `width` Hz of `hz`."""
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 8000)
    total = float(spectrum[freqs > 50].sum())
    band = float(spectrum[(freqs > hz - width) & (freqs < hz + width)].sum())
    return band / total if total else 0.0


def speech_rms(samples: np.ndarray) -> float:
    """RMS over the loudest second (speech is in there somewhere, silence around it)."""
    if len(samples) < 8000:
        return float(np.sqrt(np.mean(samples ** 2))) if len(samples) else 0.0
    windows = [samples[i:i + 8000] for i in range(0, len(samples) - 8000 + 1, 800)]
    return max(float(np.sqrt(np.mean(w ** 2))) for w in windows)
