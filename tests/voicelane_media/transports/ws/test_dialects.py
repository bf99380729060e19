"""dialect_for, the shared Dialect shape, and the package's purity (no I/O, no upward imports)."""

from __future__ import annotations

import pytest
from voicelane_media.transports.ws import dialect_for
from voicelane_media.transports.ws.plivo import PlivoDialect
from voicelane_media.transports.ws.telnyx import TelnyxDialect
from voicelane_media.transports.ws.twilio import TwilioDialect
from voicelane_media.transports.ws.websocket import WebSocketDialect

from tests.architecture.import_graph import build_graph

PURE_MODULES = ("frames", "wire", "twilio", "telnyx", "plivo", "websocket")
ALLOWED_OUTSIDE = {"__future__", "base64", "binascii", "json", "dataclasses", "typing", "numpy"}


def test_dialect_for_each_connection_type() -> None:
    assert isinstance(dialect_for("twilio", None), TwilioDialect)
    assert isinstance(dialect_for("telnyx", 8000), TelnyxDialect)
    assert isinstance(dialect_for("plivo", None), PlivoDialect)
    ours = dialect_for("websocket", None)
    assert isinstance(ours, WebSocketDialect) and ours.sample_rate == 16000
    assert dialect_for("websocket", 48000).sample_rate == 48000
    assert dialect_for("twilio", None) is not dialect_for("twilio", None)  # one per connection
    assert [dialect_for(n, None).binary_media for n in ("twilio", "telnyx", "plivo", "websocket")] \
        == [False, False, False, True]


@pytest.mark.parametrize(("kind", "rate"), [("webrtc", None), ("sip", 8000), ("twilio", 16000),
                                            ("plivo", 16000), ("websocket", 44100)])
def test_dialect_for_refuses_what_it_cannot_run(kind: str, rate: int | None) -> None:
    with pytest.raises(ValueError):
        dialect_for(kind, rate)


def test_the_serializers_import_only_the_stdlib_numpy_and_themselves() -> None:
    graph = build_graph(["voicelane_media"])
    prefix = "voicelane_media.transports.ws."
    for name in PURE_MODULES:
        module = prefix + name
        assert module in graph.files, module
        for target in graph.imports_of(module):
            if target.startswith("voicelane_media."):
                assert target.startswith((prefix, "voicelane_media.codecs")), (module, target)
            else:
                assert target.split(".")[0] in ALLOWED_OUTSIDE, (module, target)
