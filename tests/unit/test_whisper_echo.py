"""The fitted Whisper window's echo cut, as a table: only a partial repeat of the first sentence
after its end is cut; what a caller really said twice, or restarted, stays."""

import pytest
from warmline.speech.stt.whisper import without_echo

CASES = [
    ("Can I speak to a real person, please? Can I", "Can I speak to a real person, please?"),
    ("When is my next payment due? When is my", "When is my next payment due?"),
    ("I am falling about my car insurance deal. I am falling about", "I am falling about my car insurance deal."),
    # kept as said
    ("I need, I need a copy of my card.", "I need, I need a copy of my card."),
    ("What's my balance? What's my balance?", "What's my balance? What's my balance?"),  # said twice, in full
    ("Yes. Yes", "Yes. Yes"),  # the tail is not shorter than the head
    ("My policy number is 4 4 5 7 1.", "My policy number is 4 4 5 7 1."),
    ("Hi. I want my balance.", "Hi. I want my balance."),
    ("", ""),
    ("Balance? Balance please", "Balance? Balance please"),
]


@pytest.mark.parametrize("heard,kept", CASES)
def test_without_echo(heard, kept):
    assert without_echo(heard) == kept
