"""RTP/RTCP protocol core (RFC 3550, RFC 4733): packets, stats, jitter buffer, pacing."""
