"""Structured-but-mutated input: a valid document with fields dropped, retyped or added."""

from typing import Any

from hypothesis import strategies as st

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
           | st.sampled_from(["", "0", "-1", "null", "true", "2001-02-30", "channel:", "wl-", "\n"]))
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)

# "keep" first and most often: Hypothesis shrinks towards it, so a failure shows the one change
_ACTIONS = ["keep"] * 7 + ["retype", "drop"]


@st.composite
def mutated(draw, base: Any, extra_keys: st.SearchStrategy[str] = st.text(max_size=10)) -> Any:
    return _mutate(draw, base, extra_keys)


def _mutate(draw, value: Any, extra_keys) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            action = draw(st.sampled_from(_ACTIONS))
            if action == "keep":
                out[key] = _mutate(draw, item, extra_keys)
            elif action == "retype":
                out[key] = draw(junk)
        if draw(st.integers(0, 9)) == 0:
            out[draw(extra_keys)] = draw(junk)
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            action = draw(st.sampled_from(_ACTIONS))
            if action == "keep":
                out.append(_mutate(draw, item, extra_keys))
            elif action == "retype":
                out.append(draw(junk))
        if draw(st.integers(0, 9)) == 0:
            out.insert(draw(st.integers(0, len(out))), draw(junk))
        return out
    return draw(junk) if draw(st.sampled_from(_ACTIONS)) == "retype" else value
