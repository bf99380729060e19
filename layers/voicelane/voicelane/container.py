"""Composition root: wires adapters into services, once per process, lazily."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from voicelane.settings import Settings, get_settings

# Adapters and services are imported where they are built (below), so a function imports only
# what its routes use: importing them all here cost every function ~100 ms of cold start
# (httpx alone ~60 ms) for code most of them never run.
if TYPE_CHECKING:
    from voicelane.adapters.dynamo.calls import DynamoCallRepository
    from voicelane.adapters.dynamo.directory import DynamoAgentRepository, DynamoNumberRepository
    from voicelane.adapters.dynamo.nodes import DynamoNodeRepository
    from voicelane.adapters.dynamo.table import Table
    from voicelane.adapters.dynamo.webhooks import DynamoWebhookRepository
    from voicelane.adapters.media_gateway import ServiceMediaGateway
    from voicelane.adapters.media_http import HttpMediaControl
    from voicelane.adapters.webhook_io import SqsDeliveryQueue
    from voicelane.services.apps import AppService
    from voicelane.services.artifacts import ArtifactService
    from voicelane.services.call_control import AnswerService
    from voicelane.services.calls import CallService
    from voicelane.services.commands import CommandService
    from voicelane.services.conferences import ConferenceService
    from voicelane.services.directory import AgentService, NumberService
    from voicelane.services.lifecycle import CallLifecycle
    from voicelane.services.nodes import NodeService
    from voicelane.services.pacing import CallPacer
    from voicelane.services.ratelimit import RateLimiter
    from voicelane.services.sessions import SessionService
    from voicelane.services.trunks import TrunkService
    from voicelane.services.webhook_dispatch import WebhookDispatcher
    from voicelane.services.webhook_routing import EventRouter
    from voicelane.services.webhooks import WebhookService
    from voicelane.webhook_ports import LiveStream


@dataclass
class Container:
    settings: Settings

    @cached_property
    def table(self) -> Table:
        from voicelane.adapters.dynamo.table import Table

        return Table(self.settings)

    @cached_property
    def call_repo(self) -> DynamoCallRepository:
        from voicelane.adapters.dynamo.calls import DynamoCallRepository

        return DynamoCallRepository(self.table)

    @cached_property
    def agent_repo(self) -> DynamoAgentRepository:
        from voicelane.adapters.dynamo.directory import DynamoAgentRepository

        return DynamoAgentRepository(self.table)

    @cached_property
    def number_repo(self) -> DynamoNumberRepository:
        from voicelane.adapters.dynamo.directory import DynamoNumberRepository

        return DynamoNumberRepository(self.table)

    @cached_property
    def apps(self) -> AppService:
        from voicelane.adapters.dynamo.directory import DynamoAppRepository
        from voicelane.services.apps import AppService

        return AppService(DynamoAppRepository(self.table))

    @cached_property
    def calls(self) -> CallService:
        from voicelane.adapters.queues import EventBridgeScheduler, IndexScheduler, SqsCallQueue
        from voicelane.adapters.webhook_io import SystemResolver
        from voicelane.services.calls import CallService

        scheduler = IndexScheduler() if self.settings.local else EventBridgeScheduler(self.settings)
        return CallService(
            self.call_repo,
            self.number_repo,
            self.agent_repo,
            SqsCallQueue(self.settings),
            scheduler,
            self.media_control,
            resolver=SystemResolver(),
            pacer=self.pacer,
        )

    @cached_property
    def pacer(self) -> CallPacer:
        from voicelane.adapters.dynamo.directory import DynamoCpsStore
        from voicelane.services.pacing import CallPacer

        return CallPacer(DynamoCpsStore(self.table), self.settings.calls_per_second)

    @cached_property
    def lifecycle(self) -> CallLifecycle:
        from voicelane.services.lifecycle import CallLifecycle

        return CallLifecycle(self.call_repo)

    @cached_property
    def numbers(self) -> NumberService:
        from voicelane.adapters.webhook_io import SystemResolver
        from voicelane.services.directory import NumberService

        return NumberService(self.number_repo, self.agent_repo, SystemResolver())

    @cached_property
    def agents(self) -> AgentService:
        from voicelane.adapters.webhook_io import SystemResolver
        from voicelane.services.directory import AgentService

        return AgentService(self.agent_repo, SystemResolver())

    @cached_property
    def sessions(self) -> SessionService:
        from voicelane.adapters.dynamo.sessions import DynamoSessionStore
        from voicelane.adapters.webhook_io import SystemResolver
        from voicelane.services.sessions import SessionService

        return SessionService(
            self.call_repo, self.agent_repo, self.settings, DynamoSessionStore(self.table),
            self.number_repo,
            SystemResolver(),
        )

    @cached_property
    def artifacts(self) -> ArtifactService:
        from voicelane.adapters.artifacts import DynamoS3ArtifactStore
        from voicelane.services.artifacts import ArtifactService

        return ArtifactService(self.lifecycle, DynamoS3ArtifactStore(self.table, self.settings))

    @cached_property
    def node_repo(self) -> DynamoNodeRepository:
        from voicelane.adapters.dynamo.nodes import DynamoNodeRepository

        return DynamoNodeRepository(self.table)

    @cached_property
    def nodes(self) -> NodeService:
        from voicelane.services.nodes import NodeService

        return NodeService(self.node_repo, self.lifecycle, self.conferences)

    @cached_property
    def trunks(self) -> TrunkService:
        from voicelane.adapters.dynamo.nodes import DynamoTrunkRepository
        from voicelane.services.trunks import TrunkService

        return TrunkService(DynamoTrunkRepository(self.table))

    @cached_property
    def media_control(self) -> HttpMediaControl:
        from voicelane.adapters.media_http import HttpMediaControl

        return HttpMediaControl(self.table, self.settings)

    @cached_property
    def media_gateway(self) -> ServiceMediaGateway:
        """The media plane's port to this control plane (DynamoDB, S3, SQS)."""
        from voicelane.adapters.artifacts import S3Objects
        from voicelane.adapters.dynamo.artifacts import DynamoArtifactRecords
        from voicelane.adapters.dynamo.directory import DynamoAppRepository
        from voicelane.adapters.dynamo.sessions import DynamoSessionStore
        from voicelane.adapters.media_gateway import ServiceMediaGateway
        from voicelane.adapters.queues import SqsCallRequests

        return ServiceMediaGateway(
            self.settings, calls=self.call_repo, apps=DynamoAppRepository(self.table),
            numbers=self.number_repo, agents=self.agent_repo, trunks=self.trunks,
            nodes=self.nodes, records=DynamoArtifactRecords(self.table),
            objects=S3Objects(self.settings), requests=SqsCallRequests(self.settings),
            sessions=DynamoSessionStore(self.table), pacer=self.pacer,
            answers=self.answers, conferences=self.conferences)

    @cached_property
    def answers(self) -> AnswerService:
        """Asks apps for commands at the events a call waits on (webhook answers)."""
        from voicelane.adapters.webhook_http import HttpWebhookSender
        from voicelane.adapters.webhook_io import SystemResolver
        from voicelane.services.call_control import AnswerService

        return AnswerService(self.webhook_repo, HttpWebhookSender(), SystemResolver(),
                             self.settings.webhook_answer_timeout_s, queue=self.delivery_queue)

    @cached_property
    def conferences(self) -> ConferenceService:
        from voicelane.adapters.dynamo.conferences import DynamoConferenceRepository
        from voicelane.services.conferences import ConferenceService

        return ConferenceService(DynamoConferenceRepository(self.table), self.media_control,
                                 self.agent_repo)

    @cached_property
    def commands(self) -> CommandService:
        from voicelane.adapters.dynamo.commands import DynamoCommandStore
        from voicelane.services.commands import CommandService

        return CommandService(self.calls, self.media_control, DynamoCommandStore(self.table),
                              conferences=self.conferences)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        from voicelane.adapters.dynamo.directory import DynamoRateLimitStore
        from voicelane.services.ratelimit import RateLimiter

        return RateLimiter(DynamoRateLimitStore(self.table))

    # -- webhooks and the event fan-out (imported lazily: only their functions need them) --

    @cached_property
    def webhook_repo(self) -> DynamoWebhookRepository:
        from voicelane.adapters.dynamo.webhooks import DynamoWebhookRepository

        return DynamoWebhookRepository(self.table)

    @cached_property
    def delivery_queue(self) -> SqsDeliveryQueue:
        from voicelane.adapters.webhook_io import SqsDeliveryQueue

        return SqsDeliveryQueue(self.settings)

    @cached_property
    def webhooks(self) -> WebhookService:
        from voicelane.adapters.webhook_io import SystemResolver
        from voicelane.services.webhooks import WebhookService

        return WebhookService(self.webhook_repo, self.call_repo, self.delivery_queue,
                              SystemResolver(), self.settings.webhook_secret_grace_s)

    @cached_property
    def live_stream(self) -> LiveStream:
        if self.settings.local:
            from voicelane.services.event_stream import local_broker

            return local_broker()
        from voicelane.adapters.dynamo.ws_connections import DynamoWsConnections
        from voicelane.adapters.webhook_io import ApiGatewayLiveStream

        return ApiGatewayLiveStream(self.settings, DynamoWsConnections(self.table))

    @cached_property
    def event_router(self) -> EventRouter:
        from voicelane.adapters.webhook_io import EventBridgePublisher
        from voicelane.services.webhook_routing import EventRouter

        return EventRouter(self.webhook_repo, self.delivery_queue,
                           EventBridgePublisher(self.settings), self.live_stream)

    @cached_property
    def webhook_dispatcher(self) -> WebhookDispatcher:
        from voicelane.adapters.dynamo.directory import DynamoAppRepository
        from voicelane.adapters.webhook_http import HttpWebhookSender
        from voicelane.adapters.webhook_io import SystemResolver
        from voicelane.domain.webhooks import parse_schedule
        from voicelane.services.webhook_dispatch import DispatchConfig, WebhookDispatcher

        s = self.settings
        config = DispatchConfig(parse_schedule(s.webhook_retry_schedule), s.webhook_timeout_s,
                                s.webhook_dispatch_concurrency)
        return WebhookDispatcher(self.webhook_repo, self.delivery_queue,
                                 HttpWebhookSender(),
                                 SystemResolver(), DynamoAppRepository(self.table), config)


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
