"""A deliberately broken class and what must catch it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """A broken class. ``caught_by``: the checks that must catch it; ``breaks``: the cases
    (by their text) that must fail, when the bug shows in some cases only; ``holds``: cases
    that must still pass, because the bug does not touch them."""

    id: str
    row: str  # the class name it replaces
    cls: type
    caught_by: tuple[str, ...]
    bug: str
    breaks: tuple[str, ...] = ()
    holds: tuple[str, ...] = ()

    def as_learner_class(self) -> type:
        """The broken class under the book's name, as a learner's module would define it
        (scratchnn's error messages name ``type(self).__name__``)."""
        return type(self.row, (self.cls,), {"__doc__": self.bug})
