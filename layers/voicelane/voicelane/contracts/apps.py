"""/v1/app: the API key's own app and the settings a key may change (its toll-fraud guards)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from voicelane.domain.destinations import PREFIX_PATTERN
from voicelane.domain.models import App
from voicelane.domain.storable import JSON_INTEGER

MAX_PREFIXES = 100
AllowedPrefix = Annotated[str, StringConstraints(pattern=PREFIX_PATTERN)]

_CPS = ("Calls the app may place per second (1-1000), counted wherever a call is placed; "
        "null: the platform's default (`VOICELANE_CALLS_PER_SECOND`, 1 unless the operator set "
        "another). Keep it at or below what your trunks allow.")
_ALLOW = ("E.164 prefixes the app may dial (`+44`, `+1415`), or `*` for anywhere; every number "
          "Voicelane dials (calls, transfers, bridged legs) is checked. null: the country of "
          "the app's own number on the call.")


class AppSettingsPatch(BaseModel):
    """Any of the settings; a field given as null returns to the platform's default. Nothing
    else of the app (its concurrency cap, its rate limits) is a key's to change."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    # the range before JSON_INTEGER, so the document shows it as minimum/maximum
    calls_per_second: Annotated[int, Field(ge=1, le=1000), JSON_INTEGER] | None = Field(
        default=None, description=_CPS)
    destination_allow_list: list[AllowedPrefix] | None = Field(
        default=None, min_length=1, max_length=MAX_PREFIXES, description=_ALLOW)

    @model_validator(mode="after")
    def _something(self) -> AppSettingsPatch:
        if not self.model_fields_set:
            raise ValueError("give calls_per_second, destination_allow_list or both")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given (null ones included: they are removed)."""
        return self.model_dump(include=self.model_fields_set)


class AppView(BaseModel):
    """The app of the API key."""

    id: str
    name: str
    created_at: str
    max_concurrent_calls: int = Field(description="Calls live at once; more answer 429 "
                                                  "`concurrency_limit_exceeded`")
    calls_per_second: int | None = Field(description=_CPS)
    destination_allow_list: list[str] | None = Field(description=_ALLOW)

    @classmethod
    def of(cls, app: App) -> AppView:
        return cls(id=app.app_id, name=app.name, created_at=app.created_at,
                   max_concurrent_calls=app.max_concurrent_calls,
                   calls_per_second=app.calls_per_second,
                   destination_allow_list=app.destination_allow_list)
