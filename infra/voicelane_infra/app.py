"""Build the CDK app: one stack per stage, ``Voicelane-<stage>``."""

from __future__ import annotations

import os

from aws_cdk import App, Environment

from .config import StageConfig
from .paths import REPO
from .stack import VoicelaneStack


def stack_name(stage: str) -> str:
    return f"Voicelane-{stage}"


def build_app(context: dict[str, object] | None = None, outdir: str | None = None) -> App:
    # `cdk` sets CDK_OUTDIR; `python infra/app.py` writes to cdk.out/ like the CLI does.
    outdir = outdir or os.environ.get("CDK_OUTDIR") or str(REPO / "cdk.out")
    app = App(context=context, outdir=outdir)
    config = StageConfig.from_context(app.node)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    # Without credentials (offline synth, CI) the stack is environment-agnostic; `cdk deploy`
    # sets CDK_DEFAULT_ACCOUNT/REGION from the caller's credentials.
    env = Environment(account=account, region=region) if account and region else None
    VoicelaneStack(
        app,
        stack_name(config.stage),
        config=config,
        env=env,
        description=f"Voicelane {config.stage}: programmable voice in your own AWS account",
    )
    return app
