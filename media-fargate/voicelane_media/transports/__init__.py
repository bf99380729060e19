"""How calls reach this node: one package per transport (SIP/RTP today)."""
