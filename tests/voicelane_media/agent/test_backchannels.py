"""What counts as "I'm listening" (the agent goes on) and what takes the turn."""

from __future__ import annotations

import pytest
from voicelane_media.agent.settings import BACKCHANNELS
from voicelane_media.agent.turns import is_backchannel


@pytest.mark.parametrize("text", ["Uh-huh.", "Mm-hmm", "Yeah, okay.", "Oh.", "Oh, I see.",
                                  "Ah, right."])
def test_listening_sounds_are_backchannels(text: str):
    assert is_backchannel(text, BACKCHANNELS)


@pytest.mark.parametrize("text", ["Oh, what are your hours?", "Yes please book Monday", "No.",
                                  "Sorry, what?", ""])
def test_words_that_take_the_turn_are_not(text: str):
    assert not is_backchannel(text, BACKCHANNELS)
