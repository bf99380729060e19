"""Voicelane media plane: SIP/RTP, media streams, recording, agent loop."""
