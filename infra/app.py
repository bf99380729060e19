#!/usr/bin/env python3
"""CDK entry point: ``python infra/app.py`` (what cdk.json runs) synthesises into cdk.out/.

Works offline, without AWS credentials and without a Docker engine: with no
CDK_DEFAULT_ACCOUNT/REGION the stack is environment-agnostic; the Lambda layer comes from the
cache in build/layer (built by infra/build_layer.py, run here when stale); the media image is
an asset that is only staged here and built by ``cdk deploy``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii prints a banner about the local Node.js release on every run; keep synth output readable.
# (The value lists Node.js majors; CI images still ship Node 20.)
for _flag in ("DEPRECATED", "END_OF_LIFE"):
    os.environ.setdefault(f"JSII_SILENCE_WARNING_{_flag}_NODE_VERSION", "18,20")
REPO = Path(__file__).resolve().parent.parent
for path in (REPO / "infra", REPO / "layers" / "voicelane"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from voicelane_infra.app import build_app  # noqa: E402

if __name__ == "__main__":
    build_app().synth()
