"""The AWS media gateway of this process: the one composition point the media node calls.

It lives beside the port, not in it, so importing the port never pulls in the container and
its adapters (and the port's module has no path back to them).
"""

from __future__ import annotations

from voicelane.media_gateway import MediaGateway
from voicelane.settings import Settings


def aws_media_gateway(settings: Settings | None = None) -> MediaGateway:
    """The gateway of this process's container (or of a new container for ``settings``)."""
    from voicelane.container import Container, get_container

    container = get_container() if settings is None else Container(settings)
    return container.media_gateway
