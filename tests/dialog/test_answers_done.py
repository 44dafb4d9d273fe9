"""'Anything else?' answered: which short answers end the call (a table; Whisper's real mishearings included)."""

import pytest
from warmline.dialog.answers import is_done


@pytest.mark.parametrize("said, done", [
    ("No, that's all.", True),
    ("You know, that's all.", True),  # Whisper's reading of flite's "No, that's all" on the sandbox
    ("Okay, that's it.", True),
    ("Nope.", True),
    ("I'm all set, thanks", True),
    ("Yes, I also need my ID card.", False),
    ("I want to know why that's all you can do for me today", False),  # long: a request, not a goodbye
    ("Can you tell me what that is all about", False),
])
def test_which_answers_end_the_call(said, done):
    assert is_done(said) is done
