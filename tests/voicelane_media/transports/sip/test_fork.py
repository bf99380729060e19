"""What a routing target's outcome says (``call.routing.target``'s ``result``)."""

from __future__ import annotations

from voicelane_media.transports.sip.fork import result_of


def test_a_target_result_says_why_it_was_not_connected() -> None:
    assert result_of(200, abandoned=True, timed_out=False) == "answered"
    assert result_of(487, abandoned=True, timed_out=False) == "canceled"
    assert result_of(487, abandoned=True, timed_out=True) == "no_answer"
    assert result_of(486, abandoned=False, timed_out=False) == "busy"
    assert result_of(503, abandoned=False, timed_out=False) == "failed"
    assert result_of(None, abandoned=False, timed_out=False) == "failed"
