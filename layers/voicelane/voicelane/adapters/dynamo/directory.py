"""Apps, API keys, numbers and agents on the main table."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from voicelane.adapters.dynamo.codec import deserialize, error_code, serialize, strip_keys
from voicelane.adapters.dynamo.table import Table
from voicelane.domain.errors import Conflict, NotFound
from voicelane.domain.models import Agent, ApiKey, App, Number

# What update_app may change: everything of an app but its identity and its live counter.
_SETTINGS = frozenset(App.model_fields) - {"app_id", "created_at", "active_calls"}


class DynamoAppRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def put_app(self, app: App) -> None:
        item = {**app.model_dump(mode="json"), "pk": f"APP#{app.app_id}", "sk": "APP", "entity": "app"}
        self.table.put(item, "attribute_not_exists(pk)")

    def get_app(self, app_id: str) -> App | None:
        item = self.table.get(f"APP#{app_id}", "APP")
        return App.model_validate(strip_keys(item)) if item else None

    def update_app(self, app_id: str, changes: dict[str, Any]) -> App:
        """Set these settings (a None one is removed: back to its default) in one conditional
        UpdateItem on an existing app: never a read-modify-write, so the live
        `active_calls` counter and settings changed meanwhile are kept. The app as stored."""
        unknown = set(changes) - _SETTINGS
        if unknown:
            raise ValueError(f"not app settings: {sorted(unknown)}")
        if not changes:
            app = self.get_app(app_id)
            if app is None:
                raise NotFound("app not found", code="app_not_found")
            return app
        sets, removes, values, names = [], [], {}, {}
        for i, (key, value) in enumerate(sorted(changes.items())):
            names[f"#a{i}"] = key
            if value is None:
                removes.append(f"#a{i}")
            else:
                values[f":v{i}"] = value.model_dump(mode="json") if isinstance(
                    value, BaseModel) else value
                sets.append(f"#a{i} = :v{i}")
        update = " ".join(part for part in (
            "SET " + ", ".join(sets) if sets else "",
            "REMOVE " + ", ".join(removes) if removes else "") if part)
        request: dict[str, Any] = {
            "TableName": self.table.name,
            "Key": serialize({"pk": f"APP#{app_id}", "sk": "APP"}),
            "UpdateExpression": update,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            request["ExpressionAttributeValues"] = serialize(values)
        try:
            resp = self.table.client.update_item(**request)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise NotFound("app not found", code="app_not_found") from exc
            raise
        return App.model_validate(strip_keys(deserialize(resp["Attributes"])))

    def put_key(self, key: ApiKey) -> None:
        item = {
            **key.model_dump(mode="json"),
            "pk": f"KEYHASH#{key.key_hash}",
            "sk": "KEY",
            "entity": "api_key",
            "gsi1pk": f"APP#{key.app_id}#KEY",
            "gsi1sk": key.key_id,
            "gsi2pk": f"KEY#{key.key_id}",
            "gsi2sk": "KEY",
        }
        self.table.put(item, "attribute_not_exists(pk)")

    def get_key_by_hash(self, key_hash: str) -> ApiKey | None:
        item = self.table.get(f"KEYHASH#{key_hash}", "KEY", consistent=False)
        return ApiKey.model_validate(strip_keys(item)) if item else None

    def get_key(self, key_id: str) -> ApiKey | None:
        for item in self.table.query("gsi2pk = :pk", {":pk": f"KEY#{key_id}"}, index="gsi2"):
            return ApiKey.model_validate(strip_keys(item))
        return None

    def revoke_key(self, key_id: str) -> None:
        key = self.get_key(key_id)
        if key is None:
            raise NotFound("key not found", code="key_not_found")
        self.table.transact(
            [
                self.table.tx_update(
                    f"KEYHASH#{key.key_hash}", "KEY", "SET revoked = :t", {":t": True},
                    condition="attribute_exists(pk)",
                )
            ]
        )

    def list_keys(self, app_id: str) -> list[ApiKey]:
        items = self.table.query("gsi1pk = :pk", {":pk": f"APP#{app_id}#KEY"}, index="gsi1")
        return [ApiKey.model_validate(strip_keys(i)) for i in items]


class DynamoNumberRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def put(self, number: Number) -> None:
        item = {
            **number.model_dump(mode="json"),
            "pk": f"NUMBER#{number.number}",
            "sk": "NUMBER",
            "entity": "number",
            "gsi1pk": f"APP#{number.app_id}#NUMBER",
            "gsi1sk": number.number,
        }
        try:
            self.table.put(item, "attribute_not_exists(pk)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Conflict("this number is already registered", code="number_taken") from exc
            raise

    def get(self, number: str) -> Number | None:
        item = self.table.get(f"NUMBER#{number}", "NUMBER")
        return Number.model_validate(strip_keys(item)) if item else None

    def list(self, app_id: str) -> list[Number]:
        items = self.table.query("gsi1pk = :pk", {":pk": f"APP#{app_id}#NUMBER"}, index="gsi1")
        return [Number.model_validate(strip_keys(i)) for i in items]

    def delete(self, app_id: str, number: str) -> None:
        try:
            self.table.transact(
                [self.table.tx_delete(f"NUMBER#{number}", "NUMBER", "app_id = :a", {":a": app_id})]
            )
        except ClientError as exc:
            raise NotFound("number not found", code="number_not_found") from exc
        for item in list(self.table.query("pk = :pk AND begins_with(sk, :rr)",
                                          {":pk": f"NUMBER#{number}", ":rr": "RR#"})):
            self.table.delete(item["pk"], item["sk"])  # round-robin turns start over

    def next_turn(self, number: str, rule: str) -> int:
        """A round-robin rule's turn: item ``NUMBER#{number}`` / ``RR#{rule}``, one atomic ADD
        per call, so concurrent calls on any node take consecutive turns."""
        result = self.table.client.update_item(
            TableName=self.table.name,
            Key=serialize({"pk": f"NUMBER#{number}", "sk": f"RR#{rule}"}),
            UpdateExpression="ADD n :one", ExpressionAttributeValues=serialize({":one": 1}),
            ReturnValues="UPDATED_NEW")
        return int(deserialize(result["Attributes"])["n"]) - 1


class DynamoAgentRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def put(self, agent: Agent) -> None:
        item = {
            **agent.model_dump(mode="json"),
            "pk": f"APP#{agent.app_id}",
            "sk": f"AGENT#{agent.agent_id}",
            "entity": "agent",
        }
        self.table.put(item)

    def get(self, app_id: str, agent_id: str) -> Agent | None:
        item = self.table.get(f"APP#{app_id}", f"AGENT#{agent_id}")
        return Agent.model_validate(strip_keys(item)) if item else None

    def list(self, app_id: str) -> list[Agent]:
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :p)", {":pk": f"APP#{app_id}", ":p": "AGENT#"}
        )
        return [Agent.model_validate(strip_keys(i)) for i in items]

    def delete(self, app_id: str, agent_id: str) -> None:
        self.table.delete(f"APP#{app_id}", f"AGENT#{agent_id}")


class DynamoRateLimitStore:
    """Fixed-window counters with TTL: one atomic ADD per request."""

    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def hit(self, bucket: str, window_start: int, ttl_s: int) -> int:
        resp = self.table.client.update_item(
            TableName=self.table.name,
            Key=serialize({"pk": f"RL#{bucket}", "sk": f"W#{window_start}"}),
            UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :exp)",
            ExpressionAttributeValues=serialize({":one": 1, ":exp": window_start + ttl_s}),
            ReturnValues="UPDATED_NEW",
        )
        return int(deserialize(resp["Attributes"])["hits"])


CPS_TTL_S = 2 * 900  # a counter outlives the longest delay a queued call can be paced by


class DynamoCpsStore:
    """Calls-per-second counters: item ``APP#{app}`` / ``CPS#{kind}#{second}`` (zero-padded,
    so a range of seconds is one query), ``n`` taken with a conditional ADD; the second held by
    a deferred call at ``APP#{app}`` / ``CPSCALL#{call}``. Everything expires by TTL."""

    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def take(self, app_id: str, kind: str, second: int, limit: int) -> bool:
        try:
            self.table.client.update_item(
                TableName=self.table.name,
                Key=serialize({"pk": f"APP#{app_id}", "sk": f"CPS#{kind}#{second:012d}"}),
                UpdateExpression="ADD n :one SET expires_at = if_not_exists(expires_at, :exp)",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues=serialize(
                    {":one": 1, ":limit": limit, ":exp": second + CPS_TTL_S}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def counts(self, app_id: str, kind: str, first: int, last: int) -> dict[int, int]:
        prefix = f"CPS#{kind}#"
        items = self.table.query(
            "pk = :pk AND sk BETWEEN :a AND :b",
            {":pk": f"APP#{app_id}", ":a": f"{prefix}{first:012d}", ":b": f"{prefix}{last:012d}"},
        )
        return {int(i["sk"][len(prefix):]): int(i["n"]) for i in items}

    def hold(self, app_id: str, call_id: str, second: int) -> None:
        self.table.put({"pk": f"APP#{app_id}", "sk": f"CPSCALL#{call_id}", "second": second,
                        "expires_at": second + CPS_TTL_S})

    def held(self, app_id: str, call_id: str) -> int | None:
        item = self.table.get(f"APP#{app_id}", f"CPSCALL#{call_id}")
        return int(item["second"]) if item else None
