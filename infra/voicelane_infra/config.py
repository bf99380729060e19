"""Stage options from CDK context (``-c stage=prod -c natGateways=1 ...``), documented in
docs/deploy.md. Every value may come from cdk.json's "context" or the command line (strings)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_logs as logs
from constructs import Node


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _list(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return tuple(v.strip() for v in str(value).split(",") if v.strip())


@dataclass(frozen=True)
class StageConfig:
    stage: str = "dev"
    log_level: str = "INFO"
    log_retention_days: int = 30
    retain_data: bool = True
    alarm_email: str | None = None
    # API
    api_throttle_rate: int = 100
    api_throttle_burst: int = 200
    # Storage
    recordings_ia_days: int = 30
    recordings_expire_days: int = 365
    # Network / media
    media: bool = True
    nat_gateways: int = 0
    media_arch: str = "x86_64"
    media_cpu: int = 1024
    media_memory_mib: int = 2048
    media_min_count: int = 1
    media_max_count: int = 10
    calls_per_task: int = 20
    rtp_port_min: int = 10000
    rtp_port_max: int = 20000
    sip_allowed_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    rtp_allowed_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    certificate_arn: str | None = None
    sip_tls_secret_arn: str | None = None  # {"certificate", "key"} PEM: SIP over TLS on 5061
    alb_idle_timeout_s: int = 3600
    container_insights: bool = False
    execute_command: bool = False

    @classmethod
    def from_context(cls, node: Node) -> StageConfig:
        def ctx(key: str) -> Any:
            return node.try_get_context(key)

        base = cls()
        values: dict[str, Any] = {}
        spec: dict[str, tuple[str, Any]] = {
            "stage": ("stage", str),
            "logLevel": ("log_level", lambda v: str(v).upper()),
            "logRetentionDays": ("log_retention_days", int),
            "retainData": ("retain_data", _bool),
            "alarmEmail": ("alarm_email", lambda v: str(v) or None),
            "apiThrottleRate": ("api_throttle_rate", int),
            "apiThrottleBurst": ("api_throttle_burst", int),
            "recordingsIaDays": ("recordings_ia_days", int),
            "recordingsExpireDays": ("recordings_expire_days", int),
            "media": ("media", _bool),
            "natGateways": ("nat_gateways", int),
            "mediaArch": ("media_arch", lambda v: str(v).lower()),
            "mediaCpu": ("media_cpu", int),
            "mediaMemoryMiB": ("media_memory_mib", int),
            "mediaMinCount": ("media_min_count", int),
            "mediaMaxCount": ("media_max_count", int),
            "callsPerTask": ("calls_per_task", int),
            "rtpPortMin": ("rtp_port_min", int),
            "rtpPortMax": ("rtp_port_max", int),
            "sipAllowedCidrs": ("sip_allowed_cidrs", _list),
            "rtpAllowedCidrs": ("rtp_allowed_cidrs", _list),
            "certificateArn": ("certificate_arn", lambda v: str(v) or None),
            "sipTlsSecretArn": ("sip_tls_secret_arn", lambda v: str(v) or None),
            "albIdleTimeout": ("alb_idle_timeout_s", int),
            "containerInsights": ("container_insights", _bool),
            "executeCommand": ("execute_command", _bool),
        }
        for key, (attr, parse) in spec.items():
            raw = ctx(key)
            if raw is not None:
                values[attr] = parse(raw)
        config = cls(**{**base.__dict__, **values})
        config.validate()
        return config

    def validate(self) -> None:
        if not re.fullmatch(r"[a-z0-9-]{1,20}", self.stage):
            raise ValueError(f"stage {self.stage!r}: use 1-20 of a-z, 0-9, '-'")
        if self.log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError(f"logLevel {self.log_level!r}: DEBUG, INFO, WARNING or ERROR")
        if self.media_arch not in {"x86_64", "arm64"}:
            raise ValueError("mediaArch: x86_64 or arm64")
        if not 1024 <= self.rtp_port_min < self.rtp_port_max <= 65535:
            raise ValueError("rtpPortMin/rtpPortMax: 1024 <= min < max <= 65535")
        if not 0 <= self.media_min_count <= self.media_max_count:
            raise ValueError("mediaMinCount/mediaMaxCount: 0 <= min <= max")
        if self.nat_gateways < 0 or self.nat_gateways > 2:
            raise ValueError("natGateways: 0, 1 or 2")
        if (
            self.recordings_ia_days
            and self.recordings_expire_days
            and (self.recordings_expire_days <= self.recordings_ia_days)
        ):
            raise ValueError("recordingsExpireDays must exceed recordingsIaDays (0 disables)")


_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1827: "FIVE_YEARS",
    3653: "TEN_YEARS",
}


def retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs retention for ``logRetentionDays``."""
    if days not in _RETENTION:
        raise ValueError(f"logRetentionDays {days}: one of {sorted(_RETENTION)}")
    return getattr(logs.RetentionDays, _RETENTION[days])  # type: ignore[no-any-return]
