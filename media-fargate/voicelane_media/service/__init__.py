"""The media node's signalling service: SIP transports, user agent, call manager, commands.

Protocol logic lives in the pure modules (``voicelane_media.sip``, ``voicelane_media.sdp``);
this package is the asyncio layer above them and the wiring to the control plane.
"""
