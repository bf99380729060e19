"""Hostile input: every dialect's parsers raise StreamProtocolError and nothing else."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from voicelane_media.transports.ws import dialect_for
from voicelane_media.transports.ws.frames import StreamProtocolError, StreamStart

from tests.voicelane_media.transports.ws.helpers import all_fixtures

NAMES = ("twilio", "telnyx", "plivo", "websocket")
SEEDS = [text for _, text in all_fixtures()]
SPECIAL = ['"', "{", "}", "[", "]", ",", ":", "\\", "null", "1e999", "-1", '"x"', "\x00", "é",
           '"event"', '"media"', '"start"', '"payload"', "true", " "]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _check(message: str | bytes) -> None:
    for name in NAMES:
        d = dialect_for(name, None)
        with contextlib.suppress(StreamProtocolError):
            d.parse(message)
        side = d.provider_side(StreamStart("s", "c", d.encoding, d.sample_rate))
        with contextlib.suppress(StreamProtocolError):
            side.parse_bot(message)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=512), st.binary(max_size=512)))
def test_random_messages(message: str | bytes) -> None:
    _check(message)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS),
       st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 8), st.sampled_from(SPECIAL)),
                min_size=1, max_size=5))
def test_mutated_fixtures(seed: str, edits: list[tuple[int, int, str]]) -> None:
    text = seed
    for pos, cut, insert in edits:
        pos %= len(text) + 1
        text = text[:pos] + insert + text[pos + cut:]
    _check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["connected", "start", "media", "dtmf", "mark", "stop", "clear", "error",
                        "playedStream", "clearedAudio", "playAudio", "checkpoint", "clearAudio"]),
       st.dictionaries(st.sampled_from(["media", "start", "dtmf", "mark", "stop", "name", "digit",
                                        "streamSid", "stream_id", "sample_rate", "payload",
                                        "custom_parameters", "extra_headers"]),
                       JSON_VALUES, max_size=5))
def test_well_formed_json_with_wrong_shapes(event: str, body: dict[str, object]) -> None:
    _check(json.dumps({"event": event, **body}))


def test_deep_nesting_is_refused_not_crashed() -> None:
    _check("[" * 100_000)
    _check('{"event":"media","media":' + "[" * 50_000 + "]" * 50_000 + "}")
