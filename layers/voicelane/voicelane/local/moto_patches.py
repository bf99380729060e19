"""Make moto's DynamoDB transactions usable under load (local stack only).

moto's TransactWriteItems deep-copies every table it touches (items AND stream records) to be
able to roll back: O(table size) per transaction, and it crashes ("dictionary changed size
during iteration") when another request writes during the copy. The replacement keeps moto's
semantics with a rollback of only the items the transaction touches (and of the stream records
it appended), and runs transactions one at a time.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_LOCK = threading.RLock()
_installed = False


class _CopyWithoutTables:
    """moto's `copy` module, except that deepcopy(table) is the table itself."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def install() -> None:
    """Patch moto's DynamoDB backend once per process (idempotent)."""
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = models.DynamoDBBackend.transact_write_items
    models.copy = _CopyWithoutTables()  # type: ignore[assignment,attr-defined]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _LOCK:
            saved: list[tuple[Any, Any, Any, Any]] = []
            streams: dict[int, tuple[Any, int]] = {}
            for entry in transact_items:
                _, op = next(iter(entry.items()))
                table = self.tables.get(op.get("TableName"))
                if table is None:
                    continue
                attrs = op.get("Item") or op.get("Key") or {}
                if table.hash_key_attr not in attrs:
                    continue
                hash_value = DynamoType(attrs[table.hash_key_attr])
                range_value = (DynamoType(attrs[table.range_key_attr])
                               if table.range_key_attr and table.range_key_attr in attrs else None)
                current = table.items.get(hash_value)
                if range_value is not None and isinstance(current, dict):
                    current = current.get(range_value)
                saved.append((table, hash_value, range_value, copy.deepcopy(current)))
                if table.stream_shard is not None:
                    streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
            try:
                original(self, transact_items)
            except Exception:
                for table, hash_value, range_value, item in reversed(saved):
                    if range_value is None:
                        if item is None:
                            table.items.pop(hash_value, None)
                        else:
                            table.items[hash_value] = item
                    else:
                        bucket = table.items[hash_value]
                        if item is None:
                            bucket.pop(range_value, None)
                            if not bucket:
                                table.items.pop(hash_value, None)
                        else:
                            bucket[range_value] = item
                for shard, length in streams.values():
                    del shard.items[length:]
                raise

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True


def serve(port: int) -> None:
    """Run a patched moto server on 127.0.0.1:`port` until killed (`python -m` entry)."""
    import logging
    import time

    from moto.server import ThreadedMotoServer

    install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    import sys

    serve(int(sys.argv[1]))
