"""api-trunks: the /v1/trunks routes of the HTTP API (FastAPI route group `trunks` behind Mangum)."""

from voicelane.lambda_runtime import http_handler

handler, app = http_handler(["trunks"], service="api-trunks")
