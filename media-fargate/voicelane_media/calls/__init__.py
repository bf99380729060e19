"""The node's live calls, independent of their transport: status and the one ``finish``,
commands, recording, gather, the agent, limits, quality and metrics."""
