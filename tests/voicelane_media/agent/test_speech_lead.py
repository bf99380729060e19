"""A reply's first sound goes out without the TTS engine's leading silence (heard sooner)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from voicelane_media.agent.audio import tone
from voicelane_media.agent.frames import AgentReplyDone, LLMToken
from voicelane_media.agent.pipeline import Pipeline
from voicelane_media.agent.providers import AudioChunk
from voicelane_media.agent.recorder import ConversationRecorder
from voicelane_media.agent.speech import TTSProcessor, trim_lead

from tests.voicelane_media.agent.frame_sink import Keep

RATE = 16000


def _silence(ms: float) -> bytes:
    return bytes(int(RATE * ms / 1000) * 2)


class PaddedTTS:
    """Each sentence as 120 ms of silence, then 200 ms of tone (as engines pad their output)."""

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        yield AudioChunk(pcm=_silence(120) + tone(200, RATE), sample_rate=RATE)



def test_trim_lead_keeps_a_little_before_the_sound_and_cuts_at_most_max_ms():
    pcm = _silence(120) + tone(200, RATE)
    # 20 ms kept before the tone's first loud sample (its first sample is 0)
    assert len(trim_lead(pcm, RATE)) == len(_silence(20) + tone(200, RATE)) - 2
    assert len(trim_lead(_silence(500), RATE)) == len(_silence(300))  # at most 200 ms cut
    assert trim_lead(tone(200, RATE), RATE) == tone(200, RATE)


async def test_only_the_replys_first_sound_is_trimmed():
    keep = Keep()
    tts = TTSProcessor(PaddedTTS(), RATE, ConversationRecorder())
    pipeline = Pipeline([tts, keep])
    await pipeline.push(LLMToken(text="One. Two.", turn_id=1))
    await pipeline.push(AgentReplyDone(turn_id=1, text="One. Two."))
    for _ in range(200):
        if len(keep.audio) == 2:
            break
        await asyncio.sleep(0.01)
    first, second = keep.audio
    assert len(first.pcm) == len(_silence(20) + tone(200, RATE)) - 2
    assert len(second.pcm) == len(_silence(120) + tone(200, RATE))  # the pause between stays
    await pipeline.close()
