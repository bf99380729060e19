"""boto3 clients, built on first use (never at import time, so moto can patch them)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from voicelane.settings import Settings, get_settings


@lru_cache(maxsize=32)
def _client(service: str, region: str, endpoint: str | None) -> Any:
    # boto3 costs ~150 ms to import: load it on the first client, not on a Lambda's cold import.
    import boto3
    from botocore.config import Config

    # parameter_validation off: the services validate anyway, and walking every attribute of
    # every item of a batch write was most of a dispatcher batch's own CPU time.
    cfg = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=20,
                 parameter_validation=False)
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=cfg)  # type: ignore[call-overload]


def client(service: str, settings: Settings | None = None) -> Any:
    s = settings or get_settings()
    return _client(service, s.region, s.aws_endpoint_url)


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints between runs)."""
    _client.cache_clear()


def client_at(service: str, endpoint: str, settings: Settings | None = None) -> Any:
    """A cached client for an explicit endpoint (e.g. an API Gateway management API)."""
    s = settings or get_settings()
    return _client(service, s.region, endpoint)
