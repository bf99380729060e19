"""Time helpers; they live in :mod:`voicelane.domain.clock` (the media plane imports them
from there). This path stays for the control plane's existing imports."""

from voicelane.domain.clock import iso, now_iso, now_ms, parse_iso

__all__ = ["iso", "now_iso", "now_ms", "parse_iso"]
