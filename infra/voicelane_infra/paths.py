"""Repository paths used by the CDK app."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO / "functions"
BUILD_DIR = REPO / "build"
LAYER_BUILD_DIR = BUILD_DIR / "layer"
FUNCTION_CODE_DIR = BUILD_DIR / "function-code"
MEDIA_DOCKERFILE = "media-fargate/Dockerfile"
