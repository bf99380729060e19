"""A simulated phone for demos and phone-path tests: SIP + RTP on loopback, a scripted caller
that speaks through TTS, listens, barges in, and reports what it heard and when."""

from voicelane_media.sim.caller import (
           CallerLine,
           LineResult,
           PhoneReport,
           PhoneThread,
           SimulatedPhone,
)
from voicelane_media.sim.impair import ImpairedRelay, Impairment

__all__ = ["CallerLine", "ImpairedRelay", "Impairment", "LineResult", "PhoneReport", "PhoneThread",
           "SimulatedPhone"]
