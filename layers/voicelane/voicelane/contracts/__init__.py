"""Public contracts: API request/response models and queue/event payloads, one module per
resource (agents, calls, actions, artifacts, numbers, sessions, trunks, webhooks, health).

Stored records live in `voicelane.domain`; what the API accepts and answers lives here.
"""
