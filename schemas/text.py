"""Shared string rules for every text the wire carries.

Each is a ``msgspec.Meta`` pattern, so the server refuses the text at decoding (a
mutation's args: ``rejected invalid_args`` naming the field) and the published JSON
Schema carries the same rule for the phone. The patterns are written so that Python's
``re.search`` (what msgspec runs) and ECMAScript (what the phone runs) agree: Python's
``$`` also matches before a final newline, so every ``$`` is followed by ``(?!\\n)``.

Control characters (U+0000-U+001F, U+007F) are never text: U+0000 is refused by
PostgreSQL and would fail a whole batch there while SQLite stores it. Single-line
fields (names, titles, codes) refuse all of them; multi-line free text (notes,
reasons) allows newline and tab. U+2028/U+2029 are ordinary characters here.
"""

from __future__ import annotations

import msgspec

SINGLE_LINE = r"^(?![\s\S]*[\x00-\x1f\x7f])"
"""No control character at all."""
MULTI_LINE = r"^(?![\s\S]*[\x00-\x08\x0b-\x1f\x7f])"
"""No control character except tab (U+0009) and newline (U+000A)."""

_D31 = r"(?:0[1-9]|[12]\d|3[01])"
_D30 = r"(?:0[1-9]|[12]\d|30)"
_D28 = r"(?:0[1-9]|1\d|2[0-8])"
_YEAR = r"(?:19|2\d)\d{2}"
_LEAP_YEAR = r"(?:(?:19|2\d)(?:0[48]|[2468][048]|[13579][26])|2000|2400|2800)"
DATE = (
    rf"(?:{_YEAR}-(?:(?:0[13578]|1[02])-{_D31}|(?:0[469]|11)-{_D30}|02-{_D28})"
    rf"|{_LEAP_YEAR}-02-29)"
)
"""A real calendar date YYYY-MM-DD in 1900-2999 (no 2026-02-31, leap years right)."""
TIME = r"(?:[01]\d|2[0-3]):[0-5]\d"
"""HH:MM, 00:00-23:59."""
UUID = r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$(?!\n)"
"""A UUID in its 8-4-4-4-12 form (or its 32 hex digits): not 36 dashes."""


def exact(body: str) -> str:
    """``body`` must match the whole text (and not leave a trailing newline)."""
    return rf"^(?:{body})$(?!\n)"


def single_line(
    min_length: int | None = None, max_length: int | None = None, description: str | None = None
) -> msgspec.Meta:
    """A one-line text: names, titles, codes, references."""
    return msgspec.Meta(
        pattern=SINGLE_LINE, min_length=min_length, max_length=max_length, description=description
    )


def multi_line(
    min_length: int | None = None, max_length: int | None = None, description: str | None = None
) -> msgspec.Meta:
    """Free text that may span lines: notes, reasons, descriptions."""
    return msgspec.Meta(
        pattern=MULTI_LINE, min_length=min_length, max_length=max_length, description=description
    )
