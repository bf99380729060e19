"""The Voicelane stack: composes one construct per capability, nothing else."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct
from voicelane import resources

from .api import Api
from .config import StageConfig
from .data import Data
from .events import Events
from .function_defs import endpoint_services, runs_in_vpc
from .functions import Functions, FunctionsProps
from .media import Media, MediaProps
from .messaging import Queues
from .network import Network
from .observability import Observability
from .websocket import EventsWebSocket


class VoicelaneStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("voicelane:stage", config.stage)

        self.data = Data(self, "Data", config=config)
        self.queues = Queues(self, "Queues", config=config)
        self.events = Events(self, "Events", config=config)

        vpc_functions = any(runs_in_vpc(f) for f in resources.FUNCTIONS)
        self.network: Network | None = None
        self.media: Media | None = None
        if config.media:
            self.network = Network(
                self,
                "Network",
                config=config,
                needs_private=vpc_functions,
                endpoint_services=endpoint_services(resources.FUNCTIONS),
            )
            self.media = Media(
                self,
                "Media",
                props=MediaProps(
                    config=config,
                    network=self.network,
                    data=self.data,
                    queues=self.queues,
                    events=self.events,
                ),
            )

        self.websocket: EventsWebSocket | None = None
        if any("websocket" in f.triggers for f in resources.FUNCTIONS):
            self.websocket = EventsWebSocket(self, "EventsWebSocket", config=config)

        self.functions = Functions(
            self,
            "Functions",
            props=FunctionsProps(
                config=config,
                data=self.data,
                queues=self.queues,
                events=self.events,
                network=self.network,
                media_connect_url=f"{self.media.ws_url}/v1/media" if self.media else None,
                websocket=self.websocket,
            ),
        )
        self.api = Api(self, "Api", config=config, functions=self.functions)
        self.observability = Observability(
            self,
            "Observability",
            config=config,
            data=self.data,
            queues=self.queues,
            functions=self.functions,
            api=self.api,
            media=self.media,
        )

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Voicelane API base URL")
        if self.websocket is not None:
            CfnOutput(
                self,
                "EventsWebSocketUrl",
                value=self.websocket.url,
                description="Live event stream (WebSocket; API key on connect)",
            )
        CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name)
        CfnOutput(self, "RecordingsBucketName", value=self.data.bucket.bucket_name)
        CfnOutput(self, "TableName", value=self.data.table.table_name)
        CfnOutput(self, "AlarmTopicArn", value=self.observability.topic.topic_arn)
        if self.media is not None:
            CfnOutput(
                self,
                "SipEndpoint",
                value=self.media.sip_endpoint,
                description="Point SIP trunks here (UDP or TCP 5060)",
            )
            CfnOutput(self, "MediaWebSocketUrl", value=self.media.ws_url)
