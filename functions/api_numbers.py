"""api-numbers: the /v1/numbers routes of the HTTP API (FastAPI route group `numbers` behind Mangum).

The app is built at import so Lambda's init phase (full CPU, SnapStart-able) pays for it,
not the first request; boto3 clients are still created on first use.
"""

from voicelane.lambda_runtime import http_handler

handler, app = http_handler(["numbers"], service="api-numbers")
