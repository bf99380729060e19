"""Results of live commands, keyed on (call, command_id), kept 24 h."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from voicelane.adapters.dynamo.codec import error_code
from voicelane.adapters.dynamo.table import Table

TTL_S = 24 * 3600


class DynamoCommandStore:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def get(self, call_id: str, command_id: str) -> dict[str, Any] | None:
        item = self.table.get(f"CALL#{call_id}", f"CMD#{command_id}")
        result = item.get("result") if item else None
        return dict(result) if isinstance(result, dict) else None

    def put_once(self, call_id: str, command_id: str, result: dict[str, Any]) -> dict[str, Any]:
        try:
            self.table.put(
                {"pk": f"CALL#{call_id}", "sk": f"CMD#{command_id}", "entity": "command",
                 "result": result, "expires_at": int(time.time()) + TTL_S},
                "attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return self.get(call_id, command_id) or result
        return result
