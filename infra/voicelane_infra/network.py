"""Network: a VPC over two AZs. Media tasks run in the public subnets with their own public IPs
(RTP goes straight to the task). Functions that talk to media nodes' internal endpoint run in
the private subnets: isolated + VPC endpoints when natGateways=0 (default), with egress through
NAT otherwise."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from .config import StageConfig


class Network(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        needs_private: bool,
        endpoint_services: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(scope, construct_id)
        private_type = (
            ec2.SubnetType.PRIVATE_WITH_EGRESS
            if config.nat_gateways
            else ec2.SubnetType.PRIVATE_ISOLATED
        )
        subnets = [
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=22)
        ]
        if needs_private or config.nat_gateways:
            subnets.append(
                ec2.SubnetConfiguration(name="private", subnet_type=private_type, cidr_mask=22)
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=f"voicelane-{config.stage}",
            max_azs=2,
            nat_gateways=config.nat_gateways,
            subnet_configuration=subnets,
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
                ),
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            },
        )
        self.private_subnets = ec2.SubnetSelection(subnet_type=private_type)
        self.public_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
        self.function_sg: ec2.SecurityGroup | None = None
        if needs_private:
            self.function_sg = ec2.SecurityGroup(
                self,
                "FunctionSg",
                vpc=self.vpc,
                description="Voicelane functions that reach the media nodes internal endpoint",
                allow_all_outbound=True,
            )
            if not config.nat_gateways:
                # Without NAT, in-VPC functions reach the services their grants name (sqs, events,
                # scheduler) through interface endpoints; DynamoDB and S3 use the free gateway
                # endpoints above.
                endpoint_sg = ec2.SecurityGroup(
                    self,
                    "EndpointSg",
                    vpc=self.vpc,
                    description="VPC interface endpoints",
                    allow_all_outbound=False,
                )
                endpoint_sg.add_ingress_rule(
                    self.function_sg, ec2.Port.tcp(443), "HTTPS from functions"
                )
                for name in sorted(endpoint_services):
                    service = ec2.InterfaceVpcEndpointAwsService(name)
                    self.vpc.add_interface_endpoint(
                        f"{name.capitalize()}Endpoint",
                        service=service,
                        subnets=self.private_subnets,
                        security_groups=[endpoint_sg],
                        private_dns_enabled=True,
                    )
