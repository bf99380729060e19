"""The API's OpenAPI document, and `python -m voicelane.openapi [PATH]` to write it.

The checked-in copy (docs/openapi.json) is compared with `document()` by a test, so a route
change without regenerating the file fails the build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("docs/openapi.json")


def document() -> dict[str, Any]:
    """The OpenAPI document of every route group (`voicelane.api.app.all_groups()`)."""
    from voicelane.api.app import create_app

    spec: dict[str, Any] = create_app().openapi()
    return spec


def render(spec: dict[str, Any]) -> str:
    """The document as written to disk: sorted keys, two-space indent, trailing newline."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(document()))
    # To stderr: `python -m voicelane.openapi > docs/openapi.json` would otherwise write this
    # line over the start of the file it just wrote.
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
