"""The utterance cutter with a scripted VAD: what it cuts, and what it streams while speech goes on."""

import numpy as np
import pytest
from warmline.speech.audio import SLIN16, AudioChunk
from warmline.speech.cutter import SpeechAudio, Utterance, UtteranceCutter
from warmline.speech.vad import (
    Segmenter,
    SegmenterConfig,
    SpeechEnded,
    SpeechStarted,
    VadDecision,
)

FRAME = 320  # 20 ms at 16 kHz


class ScriptedVad:
    """Says 'speech' for the 20 ms frames listed; a stand-in for a model, to test the cutter alone."""

    def __init__(self, speech_frames: set[int]) -> None:
        self.speech_frames = speech_frames
        self.index = 0

    def process(self, chunk: AudioChunk) -> list[VadDecision]:
        out = []
        for _ in range(len(chunk.samples) // FRAME):
            out.append(VadDecision(20, self.index in self.speech_frames, 1.0))
            self.index += 1
        return out


def run(speech: range, frames: int, live: bool):
    """Frame i carries the value i in every sample, so cut audio tells which frames it holds."""
    cutter = UtteranceCutter(ScriptedVad(set(speech)), Segmenter(SegmenterConfig(60, 200, 20000, 8000)),
                             SLIN16, preroll_ms=100, live=live)
    events = []
    for i in range(frames):
        events += cutter.push(AudioChunk(SLIN16, np.full(FRAME, i, dtype="<i2").tobytes()))
    return events + cutter.flush()


def frames_in(samples: np.ndarray) -> list[int]:
    return sorted(set(samples.astype(int).tolist()))


@pytest.mark.parametrize("speech, frames, expected_frames", [
    (range(10, 30), 60, list(range(5, 30))),  # 5 frames of pre-roll, speech up to where it stopped
    (range(2, 12), 40, list(range(0, 12))),  # pre-roll clipped at the start of the call
    (range(10, 40), 40, list(range(5, 40))),  # the call ends mid-utterance: flushed
])
def test_the_utterance_holds_preroll_and_speech(speech, frames, expected_frames):
    [utterance] = [e for e in run(speech, frames, live=False) if isinstance(e, Utterance)]
    assert frames_in(np.round(utterance.audio * 32768)) == expected_frames


@pytest.mark.parametrize("speech, frames", [(range(10, 30), 60), (range(10, 40), 40), (range(3, 8), 30)])
def test_live_mode_streams_every_frame_of_the_utterance_once_in_order(speech, frames):
    events = run(speech, frames, live=True)
    kinds = [type(e) for e in events if not isinstance(e, SpeechAudio)]
    assert kinds == [SpeechStarted, SpeechEnded, Utterance]
    started = next(i for i, e in enumerate(events) if isinstance(e, SpeechStarted))
    ended = next(i for i, e in enumerate(events) if isinstance(e, SpeechEnded))
    streamed = [e for e in events[started:ended] if isinstance(e, SpeechAudio)]
    assert all(isinstance(e, SpeechAudio) for e in events[started + 1:ended])
    samples = np.concatenate([e.samples for e in streamed]).astype(int)
    values = [int(v) for v in samples[::FRAME]]
    assert values == sorted(values) and len(values) == len(set(values))  # once each, in order
    utterance = next(e for e in events if isinstance(e, Utterance))
    assert set(frames_in(np.round(utterance.audio * 32768))) <= set(values)


def test_without_live_mode_nothing_is_streamed():
    assert not any(isinstance(e, SpeechAudio) for e in run(range(10, 30), 60, live=False))
