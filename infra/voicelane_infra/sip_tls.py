"""SIP over TLS in AWS: the NLB passes TCP 5061 straight through to the tasks, which terminate
TLS themselves with a certificate from Secrets Manager (a secret holding JSON
``{"certificate": "<PEM chain>", "key": "<PEM key>"}``, named by the stage option
``sipTlsSecretArn``). Passing TCP through, rather than a TLS listener on the NLB, keeps the
task's certificate the one a carrier checks, and the in-dialog requests that go straight to a
task's Contact meet the same certificate."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

SIP_TLS_PORT = 5061


class SipTls(Construct):
    """The 5061 port mapping, security-group rules, NLB listener and target group, and the
    certificate handed to the container as two secrets."""

    def __init__(self, scope: Construct, construct_id: str, *, secret_arn: str,
                 container: ecs.ContainerDefinition, service: ecs.FargateService,
                 nlb: elbv2.NetworkLoadBalancer, task_sg: ec2.SecurityGroup,
                 allowed_cidrs: tuple[str, ...], vpc: ec2.IVpc, health_port: int,
                 health_path: str, drain: Duration) -> None:
        super().__init__(scope, construct_id)
        secret = secretsmanager.Secret.from_secret_complete_arn(self, "Certificate", secret_arn)
        container.add_port_mappings(ecs.PortMapping(container_port=SIP_TLS_PORT,
                                                    protocol=ecs.Protocol.TCP, name="sip-tls"))
        container.add_environment("VOICELANE_MEDIA_SIP_TLS_PORT", str(SIP_TLS_PORT))
        container.add_secret("VOICELANE_MEDIA_SIP_TLS_CERTIFICATE",
                             ecs.Secret.from_secrets_manager(secret, field="certificate"))
        container.add_secret("VOICELANE_MEDIA_SIP_TLS_KEY",
                             ecs.Secret.from_secrets_manager(secret, field="key"))
        for cidr in allowed_cidrs:
            task_sg.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(SIP_TLS_PORT),
                                     "SIP over TLS")
        self.target_group = elbv2.NetworkTargetGroup(
            self, "Targets", vpc=vpc, port=SIP_TLS_PORT, protocol=elbv2.Protocol.TCP,
            target_type=elbv2.TargetType.IP, preserve_client_ip=True,
            deregistration_delay=drain, connection_termination=False,
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.HTTP, port=str(health_port), path=health_path,
                interval=Duration.seconds(10), healthy_threshold_count=2,
                unhealthy_threshold_count=2))
        service.load_balancer_target(
            container_name=container.container_name, container_port=SIP_TLS_PORT,
            protocol=ecs.Protocol.TCP).attach_to_network_target_group(self.target_group)
        nlb.add_listener("SipTls", port=SIP_TLS_PORT, protocol=elbv2.Protocol.TCP,
                         default_target_groups=[self.target_group])
