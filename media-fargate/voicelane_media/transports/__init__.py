"""How calls reach this node: one package per transport (sip/: SIP and RTP; ws/: WebSocket media streams)."""
