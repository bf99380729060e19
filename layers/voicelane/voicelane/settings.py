"""Settings: pydantic models read from the environment and validated at start-up.

Every setting has a `VOICELANE_` environment variable; CDK sets the same names on each function
(infra imports `ENV` names from here), the local runtime sets them to moto's endpoint.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from voicelane import resources
from voicelane.domain.webrtc import IceServer


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOICELANE_", extra="ignore")

    stage: str = Field(default="dev", pattern=r"^[a-z0-9-]{1,20}$")
    region: str = "us-east-1"
    aws_endpoint_url: str | None = Field(
        default=None, description="Local AWS endpoint (moto server); unset in AWS."
    )
    table_name: str = ""
    call_requests_queue_url: str = ""
    webhook_deliveries_queue_url: str = ""
    recordings_bucket: str = ""
    event_bus_name: str = ""
    scheduler_group: str = resources.SCHEDULE_GROUP
    scheduler_role_arn: str = ""
    dispatch_scheduled_function_arn: str = ""
    session_token_secret: str = Field(default="dev-only-session-secret", min_length=16)
    session_token_ttl_s: int = Field(
        default=300, ge=1, le=3600,
        description="How long a session's token connects; then the session expires.")
    internal_token: str = Field(default="dev-only-internal-token", min_length=16)
    media_connect_url: str = "ws://127.0.0.1:8081/v1/media"  # the media node's public listener
    webrtc_ice_servers: list[IceServer] = Field(
        default_factory=list,
        description="STUN/TURN servers for webrtc sessions (JSON list of {urls, username, "
                    "credential}): given to the browser in the session answer and used by the "
                    "media node's own peer connections. None locally: host candidates suffice.")
    turn_secret: str | None = Field(
        default=None, min_length=16,
        description="The TURN server's shared secret (coturn `static-auth-secret`): TURN "
                    "entries of webrtc_ice_servers without credentials get short-lived ones "
                    "(TURN REST API: username `expiry:identity`, HMAC-SHA1 password).")
    turn_ttl_s: int = Field(default=3600, ge=60, le=86400,
                            description="How long minted TURN credentials are valid.")
    client_token_ttl_s: int = Field(
        default=3600, ge=60, le=86400,
        description="Default lifetime of a browser identity's client token (registration).")
    idempotency_ttl_s: int = 24 * 3600
    calls_per_second: int = Field(
        default=1, ge=1, le=1000,
        description="Calls an app may place per second unless the app sets its own "
        "`calls_per_second` (services/pacing.py).")
    local: bool = False
    # Webhooks (docs/webhooks.md): delays in seconds before each attempt, comma-separated.
    webhook_retry_schedule: str = "0,5,300,1800,7200,18000,36000,36000"
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=30)
    # How long a call waits for the app's answer with commands (docs/webhooks.md) before the
    # number's fallback runs.
    webhook_answer_timeout_s: float = Field(default=5.0, gt=0, le=15)
    webhook_secret_grace_s: int = Field(default=24 * 3600, ge=0, le=7 * 24 * 3600)
    # POSTs of one batch in flight at once: at least the batch size, or one slow receiver in
    # each wave holds the whole batch for a timeout per wave.
    webhook_dispatch_concurrency: int = Field(default=64, ge=1, le=256)
    webhook_deliveries_dlq_url: str = ""
    events_ws_management_url: str = Field(
        default="", description="API Gateway WebSocket management endpoint (AWS only)."
    )

    def resolved_table_name(self) -> str:
        return self.table_name or resources.MAIN_TABLE.physical_name(self.stage)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once (call `get_settings.cache_clear()` in tests)."""
    return Settings()
