"""Make moto usable under load (local stack only).

1. One DynamoDB request at a time, and one SQS request at a time: moto's backends are plain
   dicts, sets and lists that concurrent requests mutate while others iterate them
   ("dictionary changed size during iteration"; an SQS receive that fails so after marking
   messages received hides them for a whole visibility timeout). A lock per service around
   moto's WSGI application serializes them (under the GIL they barely overlapped); an SQS long
   poll gives the SQS lock up while it waits for a message.
2. Queries without whole-table sorts: moto answers every Query (on the table and on a GSI) by
   sorting ALL items of the table with Python comparisons and then filtering them, so each
   query costs O(n log n) in the table's size. The replacement hands moto's query only the
   candidates: the partition's items for a table query, and the items whose GSI partition
   key matches (one cheap pass, no sort) for a GSI query; moto sorts and filters them as before.
3. moto's TransactWriteItems deep-copies every table it touches (items AND stream records) to
   be able to roll back: O(table size) per transaction. The replacement keeps moto's semantics
   with a rollback of only the items the transaction touches (and of the stream records it
   appended).
4. Item construction in linear time: moto's item dict checks the 400 KB limit on every
   attribute it stores by re-measuring every attribute already stored (O(n^2) in the number
   of attributes, each measured recursively): ~70 % of a BatchWriteItem of webhook deliveries.
   The replacement measures the item once and refuses it the same way.
5. Per-request overhead: GetRecords and DynamoDB data-plane answers as plain JSON, SQS's clock
   read cheaply, moto's per-request directory listing and class inspection done once.
"""

from __future__ import annotations

import copy
import importlib
import threading
from typing import Any

_LOCK = threading.RLock()
_SQS_LOCK = threading.Lock()
_holds_sqs_lock = threading.local()
_installed = False


class _CopyWithoutTables:
    """moto's `copy` module, except that deepcopy(table) is the table itself."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _serialize_requests() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__

    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target.startswith("DynamoDB"):
            with _LOCK:
                return original(self, environ, start_response)
        if target.startswith("AmazonSQS"):
            with _SQS_LOCK:
                _holds_sqs_lock.value = True
                try:
                    return original(self, environ, start_response)
                finally:
                    _holds_sqs_lock.value = False
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign]

    sqs_models: Any = importlib.import_module("moto.sqs.models")
    original_wait = sqs_models.Queue.wait_for_messages

    def wait_for_messages(self: Any, timeout: int) -> None:
        # a long poll's wait must not hold every other SQS request (the sends it waits for too)
        if not getattr(_holds_sqs_lock, "value", False):
            return original_wait(self, timeout)  # type: ignore[no-any-return]
        _SQS_LOCK.release()
        try:
            return original_wait(self, timeout)  # type: ignore[no-any-return]
        finally:
            _SQS_LOCK.acquire()

    sqs_models.Queue.wait_for_messages = wait_for_messages


def _index_hash_attr(table: Any, index_name: str) -> str | None:
    for index in table.all_indexes():
        if index.name == index_name:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            return hashes[0] if len(hashes) == 1 else None
    return None


def _query_candidates(table: Any, hash_key: Any, index_name: str | None,
                      hash_key_conditions: Any) -> list[Any] | None:
    """The only items moto's query could return, or None when unsure (moto then scans)."""
    if not index_name:
        if hash_key is None:
            return None
        bucket = table.items.get(hash_key)
        if bucket is None:
            return []
        return list(bucket.values()) if table.range_key_attr else [bucket]
    attr = _index_hash_attr(table, index_name)
    wanted = dict(hash_key_conditions or []).get(attr) if attr else None
    if wanted is None:
        return None
    out = []
    for bucket in table.items.values():
        for item in (bucket.values() if table.range_key_attr else (bucket,)):
            value = item.attrs.get(attr)
            if value is not None and value.value == wanted.value and value.type == wanted.type:
                out.append(item)
    return out


def _fast_queries() -> None:
    from moto.dynamodb.models.table import Table

    original = Table.query

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        candidates = _query_candidates(self, hash_key, index_name,
                                       kwargs.get("hash_key_conditions"))
        if candidates is None:
            return original(self, hash_key, *args, **kwargs)
        self.all_items = lambda: candidates  # requests are serialized (see _serialize_requests)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query  # type: ignore[method-assign]


def _plain_json_stream_records() -> None:
    """GetRecords answers with json.dumps: the records already are in the wire shape, and
    moto's generic response serializer walking every attribute of every image was the most
    expensive part of the whole local stack (~85 ms per poll)."""
    import json
    from datetime import datetime

    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    def as_json(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.timestamp()
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    def get_records(self: Any) -> str:
        limit = self._get_param("Limit") or 1000
        result = self.backend.get_records(self._get_param("ShardIterator"), limit)
        return json.dumps(result, default=as_json)

    setattr(DynamoDBStreamsHandler, "get_records", get_records)  # noqa: B010 (mypy: a str, not an ActionResult)


def _fast_sqs_clock() -> None:
    """SQS asks every message of a queue `visible`/`delayed` on each receive, each asking the
    time through two datetime constructions: ~270 ms per receive with 3,000 messages. The
    same clock, read with time.time()."""
    import time

    sqs_models: Any = importlib.import_module("moto.sqs.models")
    original_time, original_millis = sqs_models.unix_time, sqs_models.unix_time_millis

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else original_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else original_millis(dt)

    sqs_models.unix_time = unix_time
    sqs_models.unix_time_millis = unix_time_millis


def _linear_item_construction() -> None:
    dynamo_type: Any = importlib.import_module("moto.dynamodb.models.dynamo_type")
    names = ("Item", "LimitedSizeDict", "DynamoType", "bytesize", "ItemSizeTooLarge")
    if not all(hasattr(dynamo_type, name) for name in names):
        return  # another moto layout: keep its own (slower, correct) construction
    item_class: Any = dynamo_type.Item
    limited: Any = dynamo_type.LimitedSizeDict
    dynamo: Any = dynamo_type.DynamoType
    bytesize: Any = dynamo_type.bytesize
    too_large: Any = dynamo_type.ItemSizeTooLarge

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        values = {key: dynamo(value) for key, value in attrs.items()}
        # the same limit and measure as moto's LimitedSizeDict.__setitem__, taken once
        if sum(bytesize(key) + value.size() for key, value in values.items()) > 405000:
            raise too_large
        self.attrs = limited()
        dict.update(self.attrs, values)

    setattr(item_class, "__init__", __init__)  # noqa: B010 (mypy: no assignment to __init__)


_HOT_DYNAMODB_ACTIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem",
    "TransactWriteItems", "TransactGetItems",
})


def _cheaper_request_overhead() -> None:
    """What moto does on every request, done once: it lists its own package directory (a
    stat() per backend) to route a request, inspects the handler class for its methods, and
    walks each DynamoDB data-plane answer (already in the wire shape) through its generic
    serializer; together ~2/3 of a GetItem's ~7 ms."""
    import functools
    import json

    from moto.dynamodb.responses import DynamoHandler

    backends: Any = importlib.import_module("moto.backends")
    core_responses: Any = importlib.import_module("moto.core.responses")
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    core_responses.method_names_from_class = functools.cache(
        core_responses.method_names_from_class)

    original = DynamoHandler.serialized

    def serialized(self: Any, action_result: Any) -> Any:
        result = action_result.result
        if isinstance(result, dict) and self._get_action() in _HOT_DYNAMODB_ACTIONS:
            try:
                body = json.dumps(result)
            except TypeError:  # not plain wire data (bytes, datetimes): moto's serializer
                return original(self, action_result)
            headers = {"Content-Type": "application/x-amz-json-1.0"}
            headers.update(self.response_headers)
            return 200, headers, body
        return original(self, action_result)

    DynamoHandler.serialized = serialized  # type: ignore[method-assign]

    original_parse = DynamoHandler.parse_parameters

    def parse_parameters(self: Any, request: Any) -> None:
        # moto walks every attribute of every item through botocore's shape model, only to
        # turn base64 binary attributes into bytes: a request without any takes plain JSON.
        body = request.data
        if (self._get_action() in _HOT_DYNAMODB_ACTIONS and body
                and b'"B"' not in body and b'"BS"' not in body):
            self.params = json.loads(body)
            return
        original_parse(self, request)

    DynamoHandler.parse_parameters = parse_parameters  # type: ignore[method-assign]


def install() -> None:
    """Patch moto once per process (idempotent)."""
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType

    _serialize_requests()
    _fast_queries()
    _plain_json_stream_records()
    _fast_sqs_clock()
    _cheaper_request_overhead()
    _linear_item_construction()

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

    from voicelane_local.keepalive_wsgi import KeepAliveWsgiServer, moto_app

    install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    KeepAliveWsgiServer(moto_app(), port).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    import sys

    serve(int(sys.argv[1]))
