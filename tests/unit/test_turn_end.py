"""The end-of-turn check at a pause, as a table."""

import pytest
from warmline.speech.turn_end import sounds_finished

CASES = [
    ("What's my balance?", True),
    ("Can I speak to a real person, please?", True),
    ("Yes.", False),  # one word: "Yes, thank you" is too common
    ("Yes, please.", True),
    ("No, that's all, thanks.", True),
    ("I need a copy of my insurance card.", True),
    ("March 5, 1980.", True),  # a whole date
    ("I'm calling about my", False),
    ("I want to check on the status of my claim and", False),
    ("My policy number is", False),
    ("My policy number is 4 0 0 6.", False),  # digits: more may follow
    ("four zero zero six", False),
    ("March", False),
    ("It's March fifth, nineteen", False),
    ("Um.", False),
    ("Well,", False),
    ("I was wondering...", False),
    ("", False),
    ("   ", False),
]


@pytest.mark.parametrize("text,finished", CASES)
def test_sounds_finished(text, finished):
    assert sounds_finished(text) is finished
