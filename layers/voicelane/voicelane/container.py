"""Composition root: wires adapters into services, once per process, lazily."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from voicelane.adapters.artifacts import DynamoS3ArtifactStore
from voicelane.adapters.dynamo.calls import DynamoCallRepository
from voicelane.adapters.dynamo.directory import (
    DynamoAgentRepository,
    DynamoAppRepository,
    DynamoNumberRepository,
    DynamoRateLimitStore,
)
from voicelane.adapters.dynamo.sessions import DynamoSessionStore
from voicelane.adapters.dynamo.table import Table
from voicelane.adapters.media_http import HttpMediaControl
from voicelane.adapters.queues import EventBridgeScheduler, IndexScheduler, SqsCallQueue
from voicelane.services.apps import AppService
from voicelane.services.artifacts import ArtifactService
from voicelane.services.calls import CallService
from voicelane.services.directory import AgentService, NumberService
from voicelane.services.lifecycle import CallLifecycle
from voicelane.services.ratelimit import RateLimiter
from voicelane.services.sessions import SessionService
from voicelane.settings import Settings, get_settings


@dataclass
class Container:
    settings: Settings

    @cached_property
    def table(self) -> Table:
        return Table(self.settings)

    @cached_property
    def call_repo(self) -> DynamoCallRepository:
        return DynamoCallRepository(self.table)

    @cached_property
    def agent_repo(self) -> DynamoAgentRepository:
        return DynamoAgentRepository(self.table)

    @cached_property
    def number_repo(self) -> DynamoNumberRepository:
        return DynamoNumberRepository(self.table)

    @cached_property
    def apps(self) -> AppService:
        return AppService(DynamoAppRepository(self.table))

    @cached_property
    def calls(self) -> CallService:
        scheduler = IndexScheduler() if self.settings.local else EventBridgeScheduler(self.settings)
        return CallService(
            self.call_repo,
            self.number_repo,
            self.agent_repo,
            SqsCallQueue(self.settings),
            scheduler,
            HttpMediaControl(self.table, self.settings),
        )

    @cached_property
    def lifecycle(self) -> CallLifecycle:
        return CallLifecycle(self.call_repo)

    @cached_property
    def numbers(self) -> NumberService:
        return NumberService(self.number_repo, self.agent_repo)

    @cached_property
    def agents(self) -> AgentService:
        return AgentService(self.agent_repo)

    @cached_property
    def sessions(self) -> SessionService:
        return SessionService(
            self.call_repo, self.agent_repo, self.settings, DynamoSessionStore(self.table)
        )

    @cached_property
    def artifacts(self) -> ArtifactService:
        return ArtifactService(self.lifecycle, DynamoS3ArtifactStore(self.table, self.settings))

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        return RateLimiter(DynamoRateLimitStore(self.table))


_container: Container | None = None


def get_container() -> Container:
    global _container
    if _container is None:
        _container = Container(get_settings())
    return _container


def reset_container() -> None:
    """Forget the process's container (tests that change settings)."""
    global _container
    _container = None
