"""Hybrid logical clock, shared by the server and the Python client.

A stamp is ``"<16-digit ms>:<4-digit counter>:<node>"`` so that string order is
clock order, then node order. Stamps only break ties between concurrent edits;
they never order one client's own mutations (its counter ``id`` does that).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import NamedTuple

MAX_COUNTER = 9999


class Stamp(NamedTuple):
    physical_ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.physical_ms:016d}:{self.counter:04d}:{self.node}"


def parse(text: str) -> Stamp:
    """Parse a stamp; raises ValueError on anything that is not one."""
    physical, counter, node = text.split(":", 2)
    if len(physical) != 16 or len(counter) != 4 or not node:
        raise ValueError(f"not an HLC stamp: {text!r}")
    return Stamp(int(physical), int(counter), node)


def clamp(text: str, ceiling_ms: int) -> str:
    """Pull a stamp from a clock that runs ahead back to ``ceiling_ms``, so that a
    device hours ahead cannot win every concurrent edit for hours."""
    stamp = parse(text)
    if stamp.physical_ms <= ceiling_ms:
        return text
    return str(Stamp(ceiling_ms, MAX_COUNTER, stamp.node))


class HybridLogicalClock:
    """Thread-safe HLC (Kulkarni et al.): monotone, close to wall time, merges remote stamps."""

    def __init__(self, node: str, wall_ms: Callable[[], int] | None = None) -> None:
        self.node = node
        self._wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)
        self._last = Stamp(0, 0, node)
        self._lock = threading.Lock()

    def now(self) -> str:
        """A new stamp for a local event."""
        with self._lock:
            wall = self._wall_ms()
            if wall > self._last.physical_ms:
                self._last = Stamp(wall, 0, self.node)
            else:
                self._last = self._advance(self._last.physical_ms, self._last.counter)
            return str(self._last)

    def observe(self, remote: str) -> None:
        """Merge a stamp seen in synced data, so the next local stamp is later than it."""
        other = parse(remote)
        with self._lock:
            wall = self._wall_ms()
            top = max(wall, self._last.physical_ms, other.physical_ms)
            if top == wall and top > self._last.physical_ms and top > other.physical_ms:
                self._last = Stamp(wall, 0, self.node)
                return
            counter = -1
            if top == self._last.physical_ms:
                counter = max(counter, self._last.counter)
            if top == other.physical_ms:
                counter = max(counter, other.counter)
            self._last = self._advance(top, counter)

    def _advance(self, physical: int, counter: int) -> Stamp:
        if counter >= MAX_COUNTER:
            return Stamp(physical + 1, 0, self.node)
        return Stamp(physical, counter + 1, self.node)
