"""The fuzz tests' one rule: bad input fails with the stage's own error and a one-line message."""

import logging

from warmline.errors import WarmlineError


def assert_clean(exc: BaseException, kind: type[WarmlineError]) -> None:
    """`exc` is the stage's error type and reads as one line naming the problem (no traceback)."""
    assert isinstance(exc, kind), f"{type(exc).__name__} escaped instead of {kind.__name__}: {exc!r}"
    message = str(exc)
    assert message.strip(), f"{kind.__name__} with an empty message"
    assert len(message.splitlines()) == 1, f"multi-line message: {message!r}"
    assert "Traceback" not in message


class Recording(logging.Handler):
    """Every log record, so a test can assert nothing logged a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
