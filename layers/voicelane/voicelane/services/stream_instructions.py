"""What a user pastes into a provider so its media stream reaches a session (pure text)."""

from __future__ import annotations

from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from voicelane.contracts.sessions import ConnectInstructions, ConnectionType, TelnyxStreaming


def connect_instructions(connection_type: ConnectionType, url: str,
                         token: str) -> ConnectInstructions | None:
    """The provider's instructions for a stream session at ``url`` (None for WebRTC)."""
    with_token = f"{url}?{urlencode({'token': token})}"
    if connection_type == ConnectionType.TWILIO:
        # Twilio's <Stream url> takes no query string: the token is a custom parameter.
        twiml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect>"
                 f"<Stream url={quoteattr(url)}>"
                 f"<Parameter name=\"token\" value={quoteattr(token)}/>"
                 "</Stream></Connect></Response>")
        return ConnectInstructions(url=url, twiml=twiml)
    if connection_type == ConnectionType.PLIVO:
        xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"
               "<Stream bidirectional=\"true\" keepCallAlive=\"true\" "
               "contentType=\"audio/x-mulaw;rate=8000\">"
               f"{escape(with_token)}</Stream></Response>")
        return ConnectInstructions(url=with_token, plivo_xml=xml)
    if connection_type == ConnectionType.TELNYX:
        return ConnectInstructions(url=with_token, telnyx=TelnyxStreaming(stream_url=with_token))
    if connection_type == ConnectionType.WEBSOCKET:
        return ConnectInstructions(url=with_token)
    return None
