"""Whether the words of a turn, decoded at a short pause, already make a whole turn.

A cheap check on the text: a turn that ends on a word that needs more after it ("and", "my",
"is"), in the middle of a number or a date, trails off ("um", "..."), or is one word ("Yes.", so
often "Yes, thank you"), is not over yet, and the segmenter waits for its full hang-over. Anything
else is answered at the pause.
"""

from __future__ import annotations

import re

OPEN_ENDINGS = frozenset("""
a an the my our your his her their this that these those of to for from with at in on by about
and or but so because if then than as like is are was were am be been being has have had do does
did can could would should will shall may might must i i'm we you he she they it it's what when
where which who how why um uh er erm hmm well just also plus number numbers policy code zip
""".split())
MONTHS = frozenset("""january february march april may june july august september october november
december jan feb mar apr jun jul aug sep sept oct nov dec""".split())
NUMBER_WORDS = frozenset("""zero oh o one two three four five six seven eight nine ten eleven twelve
thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy
eighty ninety hundred thousand""".split())


def sounds_finished(text: str) -> bool:
    """True when the words can stand as the whole turn."""
    stripped = text.strip()
    if not stripped or stripped.endswith((",", "...", "…", "-", ":")):
        return False
    words = re.findall(r"[a-z0-9']+", stripped.lower())
    if not words:
        return False
    if len(words) < 2:
        return False  # "Yes." is so often followed by more ("Yes, thank you") that it waits
    last = words[-1]
    if len(words) >= 3 and words[-3] in MONTHS and re.fullmatch(r"(19|20)\d\d", last):
        return True  # "March 5, 1980": a date with its year is whole
    if last in OPEN_ENDINGS or last in MONTHS or last in NUMBER_WORDS or last.isdigit():
        return False  # mid-phrase, mid-date or mid-number: a caller reading digits pauses between groups
    return not re.search(r"\d[\d\s-]*$", stripped.rstrip(".?!"))
