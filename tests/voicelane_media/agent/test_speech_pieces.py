"""A reply is spoken in pieces: sentences, and a first piece that may end at a comma."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from voicelane_media.agent.audio import tone
from voicelane_media.agent.frames import AgentReplyDone, LLMToken
from voicelane_media.agent.pipeline import Pipeline
from voicelane_media.agent.providers import AudioChunk
from voicelane_media.agent.recorder import ConversationRecorder
from voicelane_media.agent.speech import TTSProcessor, cut_pieces, first_sentence

from tests.voicelane_media.agent.frame_sink import Keep

RATE = 16000


class TextTTS:
    """Each piece as 100 ms of tone; remembers what it was asked to say."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        self.texts.append(text)
        yield AudioChunk(pcm=tone(100, RATE), sample_rate=RATE)



def test_the_first_piece_ends_at_a_comma_after_three_words():
    text = "We are open from eight to six, Monday to Friday. Anything else? "
    assert cut_pieces(text, first=True) == (
        ["We are open from eight to six,", "Monday to Friday.", "Anything else?"], "")
    # later pieces are whole sentences
    assert cut_pieces(text, first=False) == (
        ["We are open from eight to six, Monday to Friday.", "Anything else?"], "")


def test_a_short_opening_or_an_earlier_sentence_keeps_the_sentence_whole():
    assert cut_pieces("Of course, putting you through now. ", first=True) == (
        ["Of course, putting you through now."], "")
    assert cut_pieces("Hello, Acme Dental, how can I help?", first=True) == (
        ["Hello, Acme Dental,"], "how can I help?")
    assert cut_pieces("Yes. We open at eight, and close at six.", first=True) == (
        ["Yes."], "We open at eight, and close at six.")
    assert cut_pieces("That is 1,000 dollars", first=True) == ([], "That is 1,000 dollars")


def test_the_prepared_sentence_is_the_piece_the_tts_cuts():
    assert first_sentence("We are open from eight to six, Mon") == "We are open from eight to six,"
    assert first_sentence("We are open from eight") is None


async def test_a_streamed_reply_is_synthesised_piece_by_piece():
    tts = TextTTS()
    keep = Keep()
    pipeline = Pipeline([TTSProcessor(tts, RATE, ConversationRecorder()), keep])
    reply = "We are open from eight to six, Monday to Friday, all year. Anything else?"
    for word in reply.split(" "):  # token by token, as an LLM streams
        await pipeline.push(LLMToken(text=word + " ", turn_id=1))
    await pipeline.push(AgentReplyDone(turn_id=1, text=reply))
    for _ in range(200):
        if len(keep.audio) == 3:
            break
        await asyncio.sleep(0.01)
    assert tts.texts == ["We are open from eight to six,", "Monday to Friday, all year.",
                         "Anything else?"]
    assert [a.segment for a in keep.audio] == [0, 1, 2]
    await pipeline.close()
