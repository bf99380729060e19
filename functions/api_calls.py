"""api-calls: the /v1/calls and /v1/conferences routes of the HTTP API (FastAPI route groups
`calls` and `conferences` behind Mangum: conference commands reach media nodes as call
commands do).

The app is built at import so Lambda's init phase (full CPU, SnapStart-able) pays for it,
not the first request; boto3 clients are still created on first use.
"""

from voicelane.lambda_runtime import http_handler

handler, app = http_handler(["calls", "conferences"], service="api-calls")
