"""The words the intent model reads (table-driven; no model needed)."""

import pytest
from warmline.nlu.features import canonical, ngrams


@pytest.mark.parametrize("typed, read", [
    ("pls cxl my pol", "please cancel my policy"),
    ("What's my pmt amt?", "whats my payment amount"),
    ("whats my payment amount", "whats my payment amount"),
    ("need COI for my landlord thx", "need certificate of insurance for my landlord thanks"),
    ("can u send proof of ins w/ the new car", "can you send proof of insurance with the new car"),
    ("I'm in a car acc", "im in a car acc"),            # ambiguous shorthand stays as typed
    ("moved to MO last wk", "moved to mo last week"),
    ("um so yeah my deductible", "um so yeah my deductible"),  # spoken transcripts pass unchanged
    ("", ""),
    ("\x00\x01 ###", ""),
])
def test_canonical_spells_out_shorthand(typed: str, read: str) -> None:
    assert canonical(typed) == read


def test_features_are_the_same_for_typed_and_spelled_out_forms() -> None:
    assert ngrams("pls cxl my pol") == ngrams("please cancel my policy")
    assert ngrams("what's due") == ngrams("whats due")
