"""Media plane: ECS cluster and a Fargate service running media-fargate's image.

Load-balancer story (see docs/deploy.md):
- SIP signalling: an internet-facing NLB with one TCP_UDP listener on 5060 to the tasks (IP
  targets, client IP preserved), and with ``sipTlsSecretArn`` a TCP listener on 5061 passed
  through to the tasks, which terminate TLS (``sip_tls.py``). It only carries the first
  request of a dialog: a task puts its own public address in Contact and SDP, so in-dialog
  requests and RTP go straight to the task.
- RTP: tasks run in public subnets with their own public IPs; the security group opens the RTP
  UDP range (rtpPortMin-rtpPortMax) to rtpAllowedCidrs. No load balancer forwards RTP.
- WebSocket media streams and WebRTC signalling: an internet-facing ALB (HTTPS when
  certificateArn is given) to the node's public listener on 8081, health-checked on /healthz.
  The ALB forwards only the public paths (public_listener.PUBLIC_PATHS: media streams, WebRTC signalling, the
  softphone page); any other path gets a fixed 404 from the ALB and never reaches a task.
- The internal command API (8080) admits only the functions' security group (live commands):
  not the VPC's CIDR, not the ALB. The NLB health-checks the public listener's /healthz.
- Scaling: target tracking on Voicelane/LiveCalls (average per task); tasks with live calls
  protect themselves from scale-in through the ECS agent endpoint (ecs:UpdateTaskProtection)
  and drain on SIGTERM within stopTimeout (120 s, the Fargate maximum) while the load balancers
  deregister them with the same delay.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, IgnoreMode, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct
from voicelane import resources

from . import grants as g
from .config import StageConfig, retention
from .data import Data
from .events import Events
from .messaging import Queues
from .names import env
from .network import Network
from .paths import MEDIA_DOCKERFILE, REPO
from .public_listener import add_public_listener
from .sip_tls import SipTls

HTTP_PORT = 8080  # the internal command API (VPC only)
PUBLIC_PORT = 8081  # WebSocket media streams, behind the ALB
SIP_PORT = 5060
HEALTH_PATH = "/healthz"
DRAIN = Duration.seconds(120)  # Fargate's maximum stopTimeout; deregistration delay matches
METRIC_NAMESPACE = "Voicelane"
LIVE_CALLS_METRIC = "LiveCalls"
# The image's build context is the repository root (the Dockerfile installs layers/voicelane
# and media-fargate as packages); only those two directories are sent to Docker (not
# layers/local, the dev-only local platform: editing it must not rebuild the image).
IMAGE_CONTEXT_EXCLUDE = [
    "*",
    "!layers",
    "layers/local",
    "!media-fargate",
    "**/__pycache__",
    "**/*.pyc",
    "**/*.egg-info",
    "**/.mypy_cache",
    "**/.pytest_cache",
    "**/build",
]


@dataclass
class MediaProps:
    config: StageConfig
    network: Network
    data: Data
    queues: Queues
    events: Events


class Media(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: MediaProps) -> None:
        super().__init__(scope, construct_id)
        config = props.config
        vpc = props.network.vpc
        self.service_name = f"voicelane-{config.stage}-media"
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=f"voicelane-{config.stage}",
            vpc=vpc,
            container_insights_v2=(
                ecs.ContainerInsights.ENABLED
                if config.container_insights
                else ecs.ContainerInsights.DISABLED
            ),
        )

        # -- security groups ------------------------------------------------------------
        self.task_sg = ec2.SecurityGroup(
            self, "TaskSg", vpc=vpc, description="Voicelane media tasks", allow_all_outbound=True
        )
        for cidr in config.sip_allowed_cidrs:
            peer = ec2.Peer.ipv4(cidr)
            self.task_sg.add_ingress_rule(peer, ec2.Port.udp(SIP_PORT), "SIP over UDP")
            self.task_sg.add_ingress_rule(peer, ec2.Port.tcp(SIP_PORT), "SIP over TCP")
        for cidr in config.rtp_allowed_cidrs:
            self.task_sg.add_ingress_rule(
                ec2.Peer.ipv4(cidr),
                ec2.Port.udp_range(config.rtp_port_min, config.rtp_port_max),
                "RTP/RTCP media straight to the task",
            )
        # NLB health checks come from the load balancer's private addresses; they probe the
        # public listener, so the internal port stays closed to the rest of the VPC.
        self.task_sg.add_ingress_rule(
            ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(PUBLIC_PORT), "NLB health checks"
        )
        if props.network.function_sg is not None:
            self.task_sg.add_ingress_rule(
                props.network.function_sg, ec2.Port.tcp(HTTP_PORT), "live commands from functions"
            )

        # -- task -----------------------------------------------------------------------
        self.task_role = iam.Role(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Voicelane media node: table, call-requests, recordings, task protection",
        )
        self._grant_task_role(props)
        arch = (
            ecs.CpuArchitecture.ARM64
            if config.media_arch == "arm64"
            else ecs.CpuArchitecture.X86_64
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDef",
            family=self.service_name,
            cpu=config.media_cpu,
            memory_limit_mib=config.media_memory_mib,
            task_role=self.task_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=arch, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
        )
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/voicelane/{config.stage}/media",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        image = ecs.ContainerImage.from_asset(
            str(REPO),
            file=MEDIA_DOCKERFILE,
            exclude=IMAGE_CONTEXT_EXCLUDE,
            ignore_mode=IgnoreMode.DOCKER,
            platform=ecr_assets.Platform.LINUX_ARM64
            if config.media_arch == "arm64"
            else ecr_assets.Platform.LINUX_AMD64,
        )
        self.container = self.task_definition.add_container(
            "media",
            container_name="media",
            image=image,
            essential=True,
            stop_timeout=DRAIN,
            # an init process forwards SIGTERM and reaps TTS subprocesses (espeak-ng)
            linux_parameters=ecs.LinuxParameters(
                self, "LinuxParameters", init_process_enabled=True
            ),
            logging=ecs.LogDrivers.aws_logs(stream_prefix="media", log_group=log_group),
            environment=self._environment(props),
            secrets={
                env("session_token_secret"): ecs.Secret.from_secrets_manager(
                    props.data.session_token_secret
                ),
                env("internal_token"): ecs.Secret.from_secrets_manager(props.data.internal_token),
            },
            port_mappings=[
                ecs.PortMapping(container_port=SIP_PORT, protocol=ecs.Protocol.UDP, name="sip-udp"),
                ecs.PortMapping(container_port=SIP_PORT, protocol=ecs.Protocol.TCP, name="sip-tcp"),
                ecs.PortMapping(container_port=HTTP_PORT, protocol=ecs.Protocol.TCP, name="http"),
                ecs.PortMapping(container_port=PUBLIC_PORT, protocol=ecs.Protocol.TCP,
                                name="public"),
            ],
            health_check=ecs.HealthCheck(
                command=[
                    "CMD",
                    "python",
                    "-c",
                    f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{HTTP_PORT}{HEALTH_PATH}', timeout=3)",
                ],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
        )

        self.service = ecs.FargateService(
            self,
            "Service",
            service_name=self.service_name,
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=config.media_min_count,
            assign_public_ip=True,
            vpc_subnets=props.network.public_subnets,
            security_groups=[self.task_sg],
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=Duration.seconds(90),
            enable_execute_command=config.execute_command,
            platform_version=ecs.FargatePlatformVersion.LATEST,
        )

        # -- SIP: NLB, one TCP_UDP listener on 5060 --------------------------------------
        self.nlb = elbv2.NetworkLoadBalancer(
            self,
            "SipNlb",
            load_balancer_name=f"voicelane-{config.stage}-sip",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=props.network.public_subnets,
            cross_zone_enabled=True,
        )
        self.sip_target_group = elbv2.NetworkTargetGroup(
            self,
            "SipTargets",
            vpc=vpc,
            port=SIP_PORT,
            protocol=elbv2.Protocol.TCP_UDP,
            target_type=elbv2.TargetType.IP,
            preserve_client_ip=True,
            deregistration_delay=DRAIN,
            connection_termination=False,
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.HTTP,
                port=str(PUBLIC_PORT),
                path=HEALTH_PATH,
                interval=Duration.seconds(10),
                healthy_threshold_count=2,
                unhealthy_threshold_count=2,
            ),
        )
        self.service.load_balancer_target(
            container_name="media", container_port=SIP_PORT, protocol=ecs.Protocol.UDP
        ).attach_to_network_target_group(self.sip_target_group)
        self.nlb.add_listener(
            "Sip",
            port=SIP_PORT,
            protocol=elbv2.Protocol.TCP_UDP,
            default_target_groups=[self.sip_target_group],
        )

        # -- WebSocket / WebRTC signalling: ALB -> the public listener ---------------------
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            load_balancer_name=f"voicelane-{config.stage}-ws",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=props.network.public_subnets,
            idle_timeout=Duration.seconds(config.alb_idle_timeout_s),
            drop_invalid_header_fields=True,
        )
        self.ws_target_group = elbv2.ApplicationTargetGroup(
            self,
            "WsTargets",
            vpc=vpc,
            port=PUBLIC_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=DRAIN,
            health_check=elbv2.HealthCheck(
                path=HEALTH_PATH,
                port=str(PUBLIC_PORT),
                healthy_http_codes="200",
                interval=Duration.seconds(10),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.service.load_balancer_target(
            container_name="media", container_port=PUBLIC_PORT, protocol=ecs.Protocol.TCP
        ).attach_to_application_target_group(self.ws_target_group)
        self.ws_url = add_public_listener(self, self.alb, self.ws_target_group,
                                          config.certificate_arn)
        self.task_sg.add_ingress_rule(
            self.alb.connections.security_groups[0], ec2.Port.tcp(PUBLIC_PORT),
            "ALB to the media streams listener"
        )
        self.sip_endpoint = f"{self.nlb.load_balancer_dns_name}:{SIP_PORT}"
        if config.sip_tls_secret_arn:  # TCP 5061 passed through; the tasks terminate TLS
            SipTls(self, "SipTls", secret_arn=config.sip_tls_secret_arn,
                   container=self.container, service=self.service, nlb=self.nlb,
                   task_sg=self.task_sg, allowed_cidrs=config.sip_allowed_cidrs, vpc=vpc,
                   health_port=PUBLIC_PORT, health_path=HEALTH_PATH, drain=DRAIN)

        # -- autoscaling on live calls -----------------------------------------------------
        self.live_calls_metric = cloudwatch.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name=LIVE_CALLS_METRIC,
            dimensions_map={"service": self.service_name},
            statistic="Average",
            period=Duration.minutes(1),
        )
        scaling = self.service.auto_scale_task_count(
            min_capacity=config.media_min_count, max_capacity=config.media_max_count
        )
        scaling.scale_to_track_custom_metric(
            "LiveCallsPerTask",
            metric=self.live_calls_metric,
            target_value=config.calls_per_task,
            scale_out_cooldown=Duration.seconds(60),
            scale_in_cooldown=Duration.seconds(300),
        )

    def _environment(self, props: MediaProps) -> dict[str, str]:
        config = props.config
        return {
            env("stage"): config.stage,
            env("region"): Aws.REGION,
            env("table_name"): props.data.table.table_name,
            env("call_requests_queue_url"): props.queues.queue(
                resources.CALL_REQUESTS_QUEUE.logical_id
            ).queue_url,
            env("recordings_bucket"): props.data.bucket.bucket_name,
            env("event_bus_name"): props.events.bus.event_bus_name,
            # Media-plane settings (voicelane_media reads them; names documented in deploy.md).
            "VOICELANE_MEDIA_HTTP_PORT": str(HTTP_PORT),
            "VOICELANE_MEDIA_INTERNAL_HTTP_PORT": str(HTTP_PORT),  # MediaSettings' names
            "VOICELANE_MEDIA_PUBLIC_HTTP_PORT": str(PUBLIC_PORT),
            "VOICELANE_MEDIA_SIP_PORT": str(SIP_PORT),
            "VOICELANE_MEDIA_RTP_PORT_MIN": str(config.rtp_port_min),
            "VOICELANE_MEDIA_RTP_PORT_MAX": str(config.rtp_port_max),
            "VOICELANE_MEDIA_MAX_CALLS": str(config.calls_per_task * 2),
            "VOICELANE_MEDIA_PUBLIC_IP_URL": "https://checkip.amazonaws.com",
            "VOICELANE_MEDIA_DRAIN_SECONDS": str(int(DRAIN.to_seconds()) - 5),
            "POWERTOOLS_SERVICE_NAME": self.service_name,
            "POWERTOOLS_LOG_LEVEL": config.log_level,
            "POWERTOOLS_METRICS_NAMESPACE": METRIC_NAMESPACE,
        }

    def _grant_task_role(self, props: MediaProps) -> None:
        data = g.DataResources(props.data.table, props.data.bucket, props.data.key)
        statements = [
            *data.table_statements(write=True),
            *data.bucket_statements(write=True),
            g.queue_consume(props.queues.queue(resources.CALL_REQUESTS_QUEUE.logical_id)),
            # a call over its app's calls-per-second cap is sent again with a delay
            g.queue_send(props.queues.queue(resources.CALL_REQUESTS_QUEUE.logical_id)),
            iam.PolicyStatement(
                actions=["ecs:UpdateTaskProtection", "ecs:GetTaskProtection"],
                resources=[
                    f"arn:{Aws.PARTITION}:ecs:{Aws.REGION}:{Aws.ACCOUNT_ID}:task/"
                    f"voicelane-{props.config.stage}/*"
                ],
            ),
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource type; scoped by namespace
                conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            ),
            # agent cloud engines (AgentSpec.engines polly / transcribe / bedrock); neither
            # SynthesizeSpeech nor StartStreamTranscription has a resource type to scope to
            iam.PolicyStatement(
                actions=["polly:SynthesizeSpeech", "transcribe:StartStreamTranscription"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                actions=["bedrock:InvokeModelWithResponseStream"],  # ConverseStream
                resources=[
                    f"arn:{Aws.PARTITION}:bedrock:*::foundation-model/*",
                    f"arn:{Aws.PARTITION}:bedrock:*:{Aws.ACCOUNT_ID}:inference-profile/*",
                ],
            ),
        ]
        for statement in statements:
            self.task_role.add_to_policy(statement)
