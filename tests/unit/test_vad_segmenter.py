"""The segmenter as a table: decisions in (ms, speech), events out. No audio, no clock."""

import pytest
from warmline.speech.vad import (
    NoInput,
    Segmenter,
    SegmenterConfig,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
)

CFG = SegmenterConfig(start_ms=60, hangover_ms=200, max_utterance_ms=1000, no_input_ms=500)


def run(pattern: str, cfg: SegmenterConfig = CFG, frame_ms: int = 20):
    """'S' = a speech frame, '.' = a silent frame; returns every event."""
    seg = Segmenter(cfg)
    events = []
    for symbol in pattern:
        events += seg.push(frame_ms, symbol == "S")
    return events + seg.flush()


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", []),
        ("SS..........", []),  # 40 ms blip: below start_ms, no utterance
        ("SSS" + "." * 10, [SpeechStarted(0), SpeechEnded(0, 60, "silence")]),
        ("...SSSSS" + "." * 10, [SpeechStarted(60), SpeechEnded(60, 160, "silence")]),
        # a pause shorter than the hang-over stays inside one utterance
        ("SSSS.....SSSS" + "." * 10, [SpeechStarted(0), SpeechEnded(0, 260, "silence")]),
        # the same pause longer than the hang-over splits it
        ("SSSS" + "." * 10 + "SSSS" + "." * 10,
         [SpeechStarted(0), SpeechEnded(0, 80, "silence"), SpeechStarted(280), SpeechEnded(280, 360, "silence")]),
        # audio ends mid-speech: flushed
        ("SSSSSS", [SpeechStarted(0), SpeechEnded(0, 120, "flush")]),
        # a monologue is cut at max_utterance_ms and goes on as a new utterance
        ("S" * 60, [SpeechStarted(0), SpeechEnded(0, 1000, "max_length"), SpeechStarted(1000),
                    SpeechEnded(1000, 1200, "flush")]),
        # silence only: no-input fires every no_input_ms
        ("." * 60, [NoInput(500), NoInput(1000)]),
    ],
    ids=["empty", "blip", "short", "late-start", "pause-inside", "pause-splits", "flush", "monologue", "no-input"],
)
def test_segmenter(pattern, expected):
    assert run(pattern) == expected


def test_no_input_rearms_after_an_utterance_and_on_demand():
    seg = Segmenter(CFG)
    events = []
    for symbol in "SSSS" + "." * 40:
        events += seg.push(20, symbol == "S")
    assert events == [SpeechStarted(0), SpeechEnded(0, 80, "silence"), NoInput(780)]
    seg.arm_no_input()
    later = [e for _ in range(25) for e in seg.push(20, False)]
    assert later == [NoInput(seg.now_ms)]


def test_decisions_of_any_duration_add_up():
    seg = Segmenter(CFG)
    events = [e for _ in range(3) for e in seg.push(32, True)] + [e for _ in range(7) for e in seg.push(32, False)]
    assert events == [SpeechStarted(0), SpeechEnded(0, 96, "silence")]


@pytest.mark.parametrize(("script", "expected_at"), [
    # (action per 20 ms step: "." silence, "d" disarm (a prompt starts), "a" arm (it ends), "k" a key)
    ("d" + "." * 40, []),  # a prompt playing: silence is the caller listening
    ("d" + "." * 40 + "a" + "." * 30, [1300]),  # counts from the prompt's end, not its start
    ("." * 10 + "k" + "." * 26, [700]),  # a key restarts the period (armed at 0, reset at 200)
    ("d" + "k" + "." * 40, []),  # a key while disarmed does not arm it
    ("." * 20 + "d" + "." * 40 + "a" + "." * 26, [1700]),  # a re-prompt in between: the old period is gone
])
def test_no_input_timer_pauses_while_warmline_speaks_and_keys_reset_it(script, expected_at):
    seg = Segmenter(CFG)
    fired = []
    for step in script:
        if step == "d":
            seg.disarm_no_input()
        elif step == "a":
            seg.arm_no_input()
        elif step == "k":
            seg.reset_no_input()
        else:
            fired += [e.at_ms for e in seg.push(20, False) if isinstance(e, NoInput)]
    assert fired == expected_at


PAUSING = SegmenterConfig(start_ms=60, hangover_ms=200, max_utterance_ms=1000, no_input_ms=5000, pause_ms=80)


@pytest.mark.parametrize(("pattern", "expected"), [
    # a pause of pause_ms is announced once, then the hang-over closes as before
    ("SSSS" + "." * 10, [SpeechStarted(0), SpeechPaused(0, 80), SpeechEnded(0, 80, "silence")]),
    # a shorter gap announces nothing; each pause in one utterance is announced
    ("SSSS..SSSS....SSSS" + "." * 10,
     [SpeechStarted(0), SpeechPaused(0, 200), SpeechPaused(0, 360), SpeechEnded(0, 360, "silence")]),
], ids=["one-pause", "pauses"])
def test_a_pause_is_announced_before_the_hang_over(pattern, expected):
    assert run(pattern, PAUSING) == expected


@pytest.mark.parametrize(("after_pause", "ends"), [
    ("", True),  # still silent: the turn ends where the speech stopped
    ("..", True),
    ("S", False),  # the caller went on: the pause is moot
    ("S....", False),  # ... even if silent again (a new pause will be announced)
], ids=["at-once", "later", "went-on", "went-on-then-silent"])
def test_ending_at_a_pause_only_while_the_caller_is_still_silent(after_pause, ends):
    seg = Segmenter(PAUSING)
    events = [e for symbol in "SSSS...." for e in seg.push(20, symbol == "S")]
    pause = events[-1]
    assert pause == SpeechPaused(0, 80)
    for symbol in after_pause:
        seg.push(20, symbol == "S")
    closed = seg.end_at_pause(pause)
    assert closed == ([SpeechEnded(0, 80, "early")] if ends else [])
    assert seg.in_speech is not ends
