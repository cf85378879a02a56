"""When a run stops: a wall-clock time budget, or never."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def never() -> bool:
    return False


@dataclass(frozen=True)
class Deadline:
    """A wall-clock bound: `should_stop` turns true `seconds` after it was made."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def should_stop(self) -> bool:
        return time.monotonic() - self.started >= self.seconds

    def remaining(self) -> float:
        """Seconds left (never below 0)."""
        return max(self.seconds - (time.monotonic() - self.started), 0.0)
