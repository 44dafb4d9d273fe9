"""Shorthand customers type into chat and text messages, spelled out before the model reads it.

Written for Warmline from common texting and insurance-office abbreviations. Only tokens that
are unambiguous in an agency's inbox: "acc" (account or accident?), "dr" (driver, doctor,
drive?) and "mo" (month or Missouri?) are left as typed. Speech-to-text writes whole words, so
this only matters for typed channels; entities (policy numbers spelled "p a w...") are read
from the raw text, not from this.
"""

from __future__ import annotations

SHORTHAND: dict[str, str] = {
    # courtesy and texting
    "pls": "please", "plz": "please", "thx": "thanks", "thnx": "thanks", "ty": "thank you",
    "u": "you", "ur": "your", "r": "are", "w": "with", "b4": "before", "2day": "today",
    "tmrw": "tomorrow", "tmr": "tomorrow", "rn": "right now", "sry": "sorry", "ppl": "people",
    "idk": "i dont know", "lmk": "let me know", "msg": "message", "txt": "text", "num": "number",
    "wk": "week", "yr": "year", "hrs": "hours", "pics": "pictures", "info": "information",
    # the agency's own words
    "acct": "account", "pmt": "payment", "pymt": "payment", "pymnt": "payment", "amt": "amount",
    "ins": "insurance", "insur": "insurance", "pol": "policy", "veh": "vehicle", "lic": "license",
    "cxl": "cancel", "canx": "cancel", "appt": "appointment", "addr": "address",
    "dob": "date of birth", "bday": "birthday", "coi": "certificate of insurance",
    "agt": "agent", "rep": "representative", "adj": "adjuster", "ded": "deductible",
    "prem": "premium", "cust": "customer", "svc": "service",
}
