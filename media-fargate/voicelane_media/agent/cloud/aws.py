"""boto3 clients for the AWS engines: built on first use, shared by calls in the process.

boto3 clients are thread-safe; the engines call them from worker threads (boto3 is blocking),
so the pool is sized for many concurrent calls.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

# Engines are built in worker threads (agent_runner) and boto3 sessions are not thread-safe:
# clients are created one at a time, each from its own session.
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16)
def _client(
    service: str, region: str, endpoint_url: str | None, connect_s: float, read_s: float
) -> Any:
    import boto3.session
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_s,
        read_timeout=read_s,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=64,
    )
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service, region_name=region, endpoint_url=endpoint_url, config=config
    )


def aws_client(
    service: str,
    region: str,
    endpoint_url: str | None = None,
    connect_timeout_s: float = 3.0,
    read_timeout_s: float = 15.0,
) -> Any:
    """A shared boto3 client for `service` in `region` (optionally at `endpoint_url`)."""
    with _LOCK:
        return _client(service, region, endpoint_url, connect_timeout_s, read_timeout_s)


def reset_clients() -> None:
    """Forget the shared clients (tests that stub a client start from a fresh one)."""
    _client.cache_clear()
