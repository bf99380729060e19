"""api-webhooks: /v1/webhooks, /v1/deliveries and /v1/calls/{id}/deliveries (FastAPI route group
`webhooks` behind Mangum)."""

from voicelane.lambda_runtime import http_handler

handler, app = http_handler(["webhooks"], service="api-webhooks")
