"""Public contracts: API request/response models and queue/event payloads."""
