"""The SIP/RTP transport: sockets, transactions, the user agent and its dialogs, inbound and
outbound call set-up, REFER transfer, and the RTP media sessions (``rtp/``).

Protocol logic lives in the pure modules (``voicelane_media.sip``, ``voicelane_media.sdp``,
``voicelane_media.rtp``); this package is the asyncio layer above them.
"""
