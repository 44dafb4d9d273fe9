"""Keep personal data out of logs."""


def mask_number(number: str | None) -> str:
    """A phone number as its last two digits: enough to tell calls apart in a log, not to identify anyone."""
    digits = "".join(ch for ch in (number or "") if ch.isdigit())
    return f"…{digits[-2:]}" if len(digits) > 2 else "…"
