"""Voicelane media plane: SIP/RTP, media streams, recording, agent loop.

The package reads top-down; no module imports one that imports it
(``tests/architecture/test_import_rules.py`` checks both):

- ``node/``: one media node process (wiring, internal command API, public listener, fleet signals, the
  control-plane facade).
- ``calls/``: the live calls, independent of their transport (status and the one finish,
  commands, recording, gather, agent, limits, quality, metrics).
- ``transports/``: ``base.py`` (the Transport a call drives and the CallEvents it reports
  to) and one package per transport: ``sip/`` (signalling, set-up, transfer, ``rtp/`` media),
  ``ws/`` (WebSocket media streams: the dialects, the transport, the node's public endpoint).
- ``agent/`` (the agent loop on any ``MediaLeg``), ``media/`` (TTS and WAV sources).
- Protocol core, pure and synchronous: ``sip/``, ``rtp/``, ``codecs/``, ``sdp.py``.
"""
