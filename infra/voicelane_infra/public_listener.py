"""The public ALB's listener: only the media node's public paths reach a task.

The node's public listener (voicelane_media.node.http.create_public_app) serves WebSocket media
streams and WebRTC signalling under /v1/media and the softphone page; the ALB forwards those
paths and answers any other one (`/internal/...` included) with a fixed 404 itself, so a path
the node never meant to publish cannot reach it even if a route were added there by mistake.
"""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

PUBLIC_PATHS = ["/v1/media/*", "/softphone", "/softphone/*"]


def _not_found() -> elbv2.ListenerAction:
    return elbv2.ListenerAction.fixed_response(
        404, content_type="application/json",
        message_body='{"error": {"code": "route_not_found", "message": "no such path"}}',
    )


def add_public_listener(scope: Construct, alb: elbv2.ApplicationLoadBalancer,
                        targets: elbv2.ApplicationTargetGroup,
                        certificate_arn: str | None) -> str:
    """HTTPS on 443 (80 redirects) with a certificate, else plain HTTP on 80 (development);
    PUBLIC_PATHS forward to ``targets``. Returns the WebSocket base URL."""
    if certificate_arn:
        certificate = acm.Certificate.from_certificate_arn(scope, "Certificate", certificate_arn)
        listener = alb.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_action=_not_found(),
        )
        alb.add_redirect(source_port=80, target_port=443)
        url = f"wss://{alb.load_balancer_dns_name}"
    else:
        listener = alb.add_listener(
            "Http", port=80, protocol=elbv2.ApplicationProtocol.HTTP, default_action=_not_found()
        )
        url = f"ws://{alb.load_balancer_dns_name}"
    listener.add_target_groups(
        "PublicPaths",
        priority=10,
        conditions=[elbv2.ListenerCondition.path_patterns(PUBLIC_PATHS)],
        target_groups=[targets],
    )
    return url
