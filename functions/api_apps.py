"""api-apps: the /v1/app route of the HTTP API (FastAPI route group `apps` behind Mangum): the
API key's own app and its toll-fraud settings."""

from voicelane.lambda_runtime import http_handler

handler, app = http_handler(["apps"], service="api-apps")
