"""What every Lambda handler in functions/ shares: Powertools Logger, Metrics and Tracer, the
HTTP handler of a route group (FastAPI behind Mangum) and the error shape of event handlers.

Nothing here creates a boto3 client: the container builds clients on first use, inside an
invocation. FastAPI and Mangum are imported only by `http_handler`, so event functions never
pay for them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled as metrics_disabled

from voicelane.domain.errors import VoicelaneError

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from pydantic import ValidationError

NAMESPACE = "Voicelane"

LambdaHandler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class Observability:
    """The Powertools trio of one function."""

    logger: Logger
    metrics: EphemeralMetrics
    tracer: Tracer | None

    def count(self, name: str, value: float = 1) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def tracing_enabled() -> bool:
    """X-Ray tracing runs only inside Lambda, unless POWERTOOLS_TRACE_DISABLED is set."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true")
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")
    return in_lambda and not disabled


def observability(service: str) -> Observability:
    """Logger, Metrics (EMF, namespace `Voicelane`) and Tracer for the function `service`.

    POWERTOOLS_SERVICE_NAME (set by infra) wins over `service`. Powertools' Tracer imports the
    X-Ray SDK (~250 ms) even when it is disabled, so it is built only where it traces.
    """
    tracer = None
    if tracing_enabled():
        from aws_lambda_powertools import Tracer

        tracer = Tracer(service=service)
    return Observability(
        logger=Logger(service=service),
        # Ephemeral: Powertools' Metrics share one metric set per process, so in the local
        # runner (several handlers on threads of one process) one function's flush would
        # empty another's set. In Lambda (one function per process) both behave the same.
        metrics=EphemeralMetrics(namespace=NAMESPACE, service=service),
        tracer=tracer,
    )


def instrument(
    obs: Observability, fn: LambdaHandler, correlation_id_path: str | None = None
) -> LambdaHandler:
    """`fn` with the Lambda context in every log line, metrics flushed and a traced handler.

    The wrapped handler must add at least one metric per invocation (Powertools warns on an
    empty flush).
    """
    traced = obs.tracer.capture_lambda_handler(fn) if obs.tracer is not None else fn
    flushed: LambdaHandler = obs.metrics.log_metrics(traced)

    def cleared(event: dict[str, Any], context: Any) -> Any:
        try:
            return flushed(event, context)
        finally:
            # With POWERTOOLS_METRICS_DISABLED a flush keeps the values (Powertools 3.x), which
            # then pile up across invocations and get printed anyway once a metric has 100.
            if metrics_disabled():
                obs.metrics.clear_metrics()

    return obs.logger.inject_lambda_context(cleared, correlation_id_path=correlation_id_path)


def http_handler(groups: list[str], service: str) -> tuple[LambdaHandler, Any]:
    """The Lambda handler of an HTTP route group and its FastAPI app (for tests and tools).

    API Gateway HTTP API (payload v2) events go through Mangum to the group's FastAPI app.
    """
    from aws_lambda_powertools.logging import correlation_paths
    from mangum import Mangum

    from voicelane.api.app import create_app

    app = create_app(groups)
    asgi = Mangum(app, lifespan="off")
    obs = observability(service)

    def handle(event: dict[str, Any], context: Any) -> Any:
        response: dict[str, Any] = asgi(event, context)
        status = int(response.get("statusCode", 500))
        obs.count("Requests")
        if status >= 500:
            obs.count("ServerErrors")
        elif status >= 400:
            obs.count("ClientErrors")
        return response

    return instrument(obs, handle, correlation_paths.API_GATEWAY_HTTP), app


def error_object(exc: VoicelaneError) -> dict[str, Any]:
    """The API's error shape for a domain error, for handlers that answer a direct invoke."""
    return {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}


def validation_error_object(exc: ValidationError) -> dict[str, Any]:
    """The API's error shape (`validation_error`) for an invalid event payload."""
    details = [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg"), "type": err.get("type")}
        for err in exc.errors()
    ]
    return {
        "error": {
            "code": "validation_error",
            "message": "the event payload is not valid",
            "details": details,
        }
    }
