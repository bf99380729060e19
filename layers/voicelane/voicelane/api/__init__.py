"""The public HTTP API (FastAPI): one app factory, one router per resource."""
