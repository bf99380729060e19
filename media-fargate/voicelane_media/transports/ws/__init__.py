"""WebSocket media streams: dialect serializers (twilio, telnyx, plivo, ours) and the
transport, endpoint and agent leg that run a call on one connection."""
