"""sipp peers of the conference tests: a called party that answers PCMU and plays one steady
tone (a pcap written here) until it is hung up, a caller that plays one for a while and hangs
up, and what a recording heard of each tone."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import numpy as np
from voicelane_media.codecs.g711 import pcmu_from_pcm

RATE = 8000
FRAME = 160  # 20 ms of PCMU

UAS_TONE = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Called party: answers PCMU, plays {pcap} (one steady tone), waits for the BYE. -->
<scenario name="uas playing a tone">
  <recv request="INVITE"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:peer@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=peer 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv request="ACK"/>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <recv request="BYE" timeout="40000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"""


UAC_TONE = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Caller: INVITEs [service] (PCMU), plays {pcap} once answered, hangs up after {hold_ms} ms. -->
<scenario name="uac playing a tone">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <pause milliseconds="{hold_ms}"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""


def caller_scenario(tmp: Path, name: str, caller: str, hz: float, hold_ms: int) -> Path:
    """A caller (``caller`` in From) that plays a steady tone for ``hold_ms`` and hangs up."""
    pcap = tone_pcap(tmp / f"{name}.pcap", hz, hold_ms / 1000)
    scenario = tmp / f"uac_{name}.xml"
    scenario.write_text(UAC_TONE.replace("{pcap}", str(pcap)).replace(
        "{hold_ms}", str(hold_ms)).replace("{caller}", caller))
    return scenario


def tone_pcap(path: Path, hz: float, seconds: float, amplitude: int = 6000) -> Path:
    """A pcap (Ethernet/IPv4/UDP/RTP) of PCMU packets of a steady tone, 20 ms apart."""
    n = int(RATE * seconds) // FRAME * FRAME
    return pcm_pcap(path, (amplitude * np.sin(2 * np.pi * hz * np.arange(n) / RATE)).astype(
        np.int16))


def pcm_pcap(path: Path, pcm: np.ndarray) -> Path:
    """A pcap (Ethernet/IPv4/UDP/RTP) of PCMU packets of 8 kHz ``pcm``, 20 ms apart, for
    sipp's ``play_pcap_audio``."""
    n = pcm.shape[0] // FRAME * FRAME
    payload = pcmu_from_pcm(pcm[:n].astype(np.int16))
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i in range(n // FRAME):
        rtp = struct.pack("!BBHII", 0x80, 0, i & 0xFFFF, i * FRAME, 0x5EED) + \
            payload[i * FRAME:(i + 1) * FRAME]
        udp = struct.pack("!HHHH", 40000, 40002, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        usec = i * 20_000
        out += struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame))
        out += frame
    path.write_bytes(bytes(out))
    return path


def tone_scenario(tmp: Path, name: str, hz: float, seconds: float) -> Path:
    return pcap_scenario(tmp, name, tone_pcap(tmp / f"{name}.pcap", hz, seconds))


def pcap_scenario(tmp: Path, name: str, pcap: Path) -> Path:
    """A called party that answers and plays ``pcap`` (``pcm_pcap``, ``tone_pcap``)."""
    scenario = tmp / f"uas_{name}.xml"
    scenario.write_text(UAS_TONE.replace("{pcap}", str(pcap)))
    return scenario


def channel(wav_bytes: bytes, index: int) -> tuple[np.ndarray, int]:
    """One channel of a 16-bit WAV as float samples, and its rate."""
    with wave.open(io.BytesIO(wav_bytes)) as w:
        channels, rate = w.getnchannels(), w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return samples.reshape(-1, channels)[:, index].astype(np.float64), rate


def tone_levels(samples: np.ndarray, rate: int, tones: dict[str, float]) -> dict[str, float]:
    """The RMS amplitude of each tone in ``samples`` (a narrow band around its frequency)."""
    spectrum = np.fft.rfft(samples * np.hanning(samples.shape[0]))
    freqs = np.fft.rfftfreq(samples.shape[0], 1 / rate)
    scale = 2.0 / max(1.0, float(np.sum(np.hanning(samples.shape[0]))))
    return {name: float(np.max(np.abs(spectrum[(freqs > hz - 15) & (freqs < hz + 15)])) * scale)
            for name, hz in tones.items()}


def loudest_window(samples: np.ndarray, rate: int, hz: float, window_s: float = 0.1) -> float:
    """The tone's level in its loudest ``window_s`` window (a short beep in a long file)."""
    size = int(rate * window_s)
    return max((tone_levels(samples[i:i + size], rate, {"t": hz})["t"]
                for i in range(0, samples.shape[0] - size, size // 2)), default=0.0)
