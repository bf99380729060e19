"""Console entry point ``voicelane-media`` (see ``voicelane_media.service.main``)."""

from __future__ import annotations

from voicelane_media.service.main import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
