"""Console entry point ``voicelane-media`` (see ``voicelane_media.node.main``)."""

from __future__ import annotations

from voicelane_media.node.main import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
