"""``voicelane-media``: run one media node until SIGTERM, then drain."""

from __future__ import annotations

import asyncio
import logging

from voicelane.media_gateway.aws import aws_media_gateway

from voicelane_media.settings import MediaSettings

from .node import MediaNode


async def serve(settings: MediaSettings | None = None) -> None:
    node = MediaNode(settings or MediaSettings(), aws_media_gateway())
    await node.start()
    node.install_signal_handlers()
    await node.run_until_stopped()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve())
