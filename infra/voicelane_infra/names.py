"""Environment variable names, taken from voicelane.settings.Settings so they cannot drift."""

from __future__ import annotations

from voicelane.settings import Settings

PREFIX = "VOICELANE_"


def env(field: str) -> str:
    """``table_name`` -> ``VOICELANE_TABLE_NAME``; fails synth if Settings has no such field."""
    if field not in Settings.model_fields:
        raise KeyError(f"voicelane.settings.Settings has no field {field!r}")
    return PREFIX + field.upper()


def logical(name: str) -> str:
    """``call-requests`` -> ``CallRequests`` (construct ids)."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-"))
