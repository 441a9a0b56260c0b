"""A deliberately broken class and what must catch it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """A broken class. ``caught_by``: the checks that must catch it; ``breaks``: the cases
    (by their text) that must fail, when the bug shows in some cases only; ``holds``: cases
    that must still pass, because the bug does not touch them.

    ``diagnosis``: the catalogue entry (:mod:`conformance.diagnosis`) that names the bug, which
    every output or gradient check catching it must report and no check may contradict (or
    several, each for some of the gradients); None when no entry should be reported.
    ``family``: the bug is one of the well-known family the diagnoses are for (a missing or
    extra normalisation, a transpose, a flipped sign, swapped gradients, an ignored dout, a
    wrong reduction, an overwrite where an accumulation belongs, a second path dropped, a mask
    forgotten in backward, float32 precision), whether or not an entry names it; the share of
    these that get their diagnosis is measured."""

    id: str
    row: str  # the class name it replaces
    cls: type
    caught_by: tuple[str, ...]
    bug: str
    breaks: tuple[str, ...] = ()
    holds: tuple[str, ...] = ()
    diagnosis: str | tuple[str, ...] | None = None
    family: bool = False

    @property
    def diagnoses(self) -> frozenset[str]:
        """The entries this variant must get (each of them, and no other)."""
        if self.diagnosis is None:
            return frozenset()
        return frozenset((self.diagnosis,) if isinstance(self.diagnosis, str) else self.diagnosis)

    def as_learner_class(self) -> type:
        """The broken class under the book's name, as a learner's module would define it
        (scratchnn's error messages name ``type(self).__name__``)."""
        return type(self.row, (self.cls,), {"__doc__": self.bug})
