"""Ctrl-C that is never lost.

Python raises KeyboardInterrupt wherever the main thread happens to be when
SIGINT arrives. If that is a garbage-collector callback (Hypothesis installs
one), the exception is "unraisable": printed as a warning and dropped, and the
run carries on as if nothing happened. The handler here also records the
request, and the engine re-raises it before the next example.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

_requested = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = True
    raise KeyboardInterrupt


def install() -> Callable[[], None]:
    """Handle SIGINT as above if Python's default handler is in place; return the undo."""
    previous: Any = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        return lambda: None
    signal.signal(signal.SIGINT, _on_sigint)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return restore


def raise_if_requested() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed, even if its first raise was swallowed."""
    if _requested:
        raise KeyboardInterrupt


def requested() -> bool:
    """Whether Ctrl-C was pressed during this process's run."""
    return _requested
