"""The webhook no-loss scenario, longer than the suite's 1,000 lifecycles: call lifecycles on
the local stack (moto in its own process, the real router and dispatcher handlers run by the
local runner) against a loopback receiver failing ~30 % of requests (503, answers after the
0.5 s timeout, connection resets). Prints what tests/voicelane/webhooks/no_loss.py checked: every event
arrived, duplicates kept their webhook-id, no sequence gap, every signature verified.

    .venv/bin/python bench/webhooks_no_loss.py [--lifecycles 3000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("VOICELANE_MOTO_PROCESS", "1")

from voicelane_local.moto_server import free_port
from voicelane_local.platform import LocalPlatform

from tests.voicelane.webhooks.no_loss import run_no_loss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifecycles", type=int, default=3000)
    args = ap.parse_args()
    p = LocalPlatform(api_port=free_port(), env_file=None, with_media=False).start()
    try:
        app = p.container.apps.create_app("no-loss", allow_private_webhooks=True,
                                          max_concurrent_calls=100_000)
        report = run_no_loss(p.container, app, args.lifecycles, wait_s=600)
        print(f"no loss: {report}; none lost, one webhook-id per event, no sequence gap, "
              "every signature verified")
    finally:
        p.stop()


if __name__ == "__main__":
    main()
