"""Amounts, dates and times as prompt media: the catalog's words plus the PBX's own numbers.

Nothing is synthesised mid-call: "$128.40 due December 1st" is the sound files `dollars`,
`month_12`, `day_1` around the PBX's `number:` read-backs.
"""

from __future__ import annotations

from datetime import date, datetime

from warmline.speech.prompts import Digits, Media, Number, Sound


def money(cents: int) -> tuple[Media, ...]:
    dollars, rest = divmod(abs(cents), 100)
    said: tuple[Media, ...] = (Number(dollars), Sound("dollars"))
    return said + ((Sound("and_cents"), Number(rest), Sound("cents")) if rest else ())


def day(when: date, today: date) -> tuple[Media, ...]:
    """'December first' — with the year only when it is not this year's."""
    said: tuple[Media, ...] = (Sound(f"month_{when.month}"), Sound(f"day_{when.day}"))
    return said + ((Number(when.year),) if when.year != today.year else ())


def slot(start: datetime, today: date) -> tuple[Media, ...]:
    """'Tuesday, December first at nine thirty a m'."""
    hour12 = start.hour % 12 or 12
    minutes: tuple[Media, ...] = (Number(start.minute),) if start.minute else (Sound("o_clock"),)
    return (Sound(f"weekday_{start.weekday()}"), *day(start.date(), today), Sound("at"),
            Number(hour12), *minutes, Sound("a_m" if start.hour < 12 else "p_m"))


def digits(value: str) -> tuple[Media, ...]:
    return (Digits(value),)
