"""The implementation under test: importable modules whose classes follow the book's protocol.

``--impl common.layers,two_layer_net`` (or ``SCRATCHNN_IMPL``) names the
modules; a row's class is looked up by name in each module in order, and the
first match is used. Resolving a row's class (:meth:`Implementation.resolve`)
also:

- accepts the known aliases of :data:`KNOWN_ALIASES` (the first book's ``Relu``)
  and explicit ones (``--alias SoftmaxWithLoss=SoftMaxWithLoss``);
- reports a class whose name nearly matches a row's (same letters in another
  case, or a small edit distance) as *not implemented*, naming it and the
  ``--alias`` that would select it, never silently;
- checks with :func:`inspect.signature`, before anything runs, that the class's
  constructor takes the row's arguments: a mismatch (``Repeat(D, N)`` where the
  row calls ``Repeat(repeats, axis)``) is its own status, not a failure.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

from conformance.settings import aliases, implementation_modules

if TYPE_CHECKING:
    from conformance.spec import Row

KNOWN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "ReLU": ("Relu",),
}
"""Other names the same class goes by, looked up after the row's own name. ``Relu`` is the
name of the first *Deep Learning from Scratch* book."""


class ImplementationNotFound(Exception):
    """A module of the implementation under test cannot be imported."""


class SignatureMismatch(Exception):
    """The class's constructor cannot take the row's arguments."""


@dataclass(frozen=True)
class Resolution:
    """The class a row checks, or why there is none (``not_implemented``,
    ``signature_mismatch``) with a one-line message."""

    cls: type | None
    status: str
    message: str = ""
    name: str = ""  # the name the class was found under


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def near_miss(name: str, candidate: str) -> bool:
    """Same letters in another case, or within one edit (two for names of 8 letters or more)."""
    if candidate == name:
        return False
    if candidate.lower() == name.lower():
        return True
    return edit_distance(candidate.lower(), name.lower()) <= (2 if len(name) >= 8 else 1)


@dataclass(frozen=True)
class Implementation:
    modules: tuple[ModuleType, ...]
    explicit_aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        """The value of ``--impl`` that selects this implementation."""
        return ",".join(m.__name__ for m in self.modules)

    def find(self, name: str) -> type | None:
        for module in self.modules:
            candidate = getattr(module, name, None)
            if inspect.isclass(candidate):
                return candidate
        return None

    def class_names(self) -> list[tuple[str, str]]:
        """(class name, module name) of every class the modules hold."""
        return [
            (name, module.__name__)
            for module in self.modules
            for name, value in vars(module).items()
            if inspect.isclass(value) and not name.startswith("_")
        ]

    def lookup(self, row: str, rows: Sequence[str] = ()) -> Resolution:
        """The class for the row named ``row`` by its name, an explicit alias or a known
        alias; otherwise not implemented, naming a near miss if there is one (``rows``: every
        row name, which a near miss must not be)."""
        names = (
            [self.explicit_aliases[row]]
            if row in self.explicit_aliases
            else [row, *KNOWN_ALIASES.get(row, ())]
        )
        for name in names:
            found = self.find(name)
            if found is not None:
                return Resolution(found, "found", "", name)
        taken = set(rows) | {alias for values in KNOWN_ALIASES.values() for alias in values}
        close = [(n, m) for n, m in self.class_names() if n not in taken and near_miss(row, n)]
        if row in self.explicit_aliases:
            return Resolution(
                None, "not_implemented", f"no class {self.explicit_aliases[row]} (--alias) in {self.spec}"
            )
        if close:
            name, module = close[0]
            return Resolution(
                None,
                "not_implemented",
                f"not implemented: found {name} in {module}; run with --alias {row}={name}",
            )
        return Resolution(None, "not_implemented", f"no class {row} in {self.spec}")

    def resolve(self, row: Row) -> Resolution:
        from conformance.registry import ROWS_BY_NAME

        found = self.lookup(row.name, list(ROWS_BY_NAME))
        if found.cls is None:
            return found
        problem = signature_problem(row, found.cls)
        if problem:
            return Resolution(None, "signature_mismatch", problem, found.name)
        return found

    @classmethod
    def load(
        cls, names: str | Sequence[str] | None = None, alias: Mapping[str, str] | None = None
    ) -> Implementation:
        """Import the named modules (comma-separated string or list; default: SCRATCHNN_IMPL or
        scratchnn), with the explicit aliases ``alias`` (default: CONFORMANCE_ALIAS)."""
        if names is None:
            names = implementation_modules()
        elif isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        if not names:
            raise ImplementationNotFound("no implementation module given")
        modules = []
        for name in names:
            try:
                modules.append(importlib.import_module(name))
            except ImportError as error:
                raise ImplementationNotFound(
                    f"cannot import implementation module {name!r}: {error}. "
                    "Run from the directory that makes it importable or add that directory to PYTHONPATH."
                ) from error
        return cls(tuple(modules), dict(aliases() if alias is None else alias))


def signature_problem(row: Row, cls: type) -> str:
    """``signature mismatch: expected Repeat(repeats, axis), found Repeat(D, N)``, or ``""``."""
    convention = row.convention
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return ""  # a class whose signature cannot be read is tried as it is
    arguments = convention.constructor.arguments(row)
    keywords = {convention.state.keyword: False} if convention.state is not None else {}
    expected = convention.signature(row)
    found = f"{cls.__name__}{_plain(signature)}"
    try:
        signature.bind(*([None] * len(arguments)), **keywords)
    except TypeError:
        return f"signature mismatch: expected {expected}, found {found}"
    if convention.constructor.strict_names:
        positional = [
            p.name
            for p in signature.parameters.values()
            if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        ]
        if positional[: len(arguments)] != [a.name for a in arguments]:
            return f"signature mismatch: expected {expected}, found {found}"
    return ""


def _plain(signature: inspect.Signature) -> str:
    """``(D, N)``: the parameters without annotations."""
    return (
        "("
        + ", ".join(str(p.replace(annotation=inspect.Parameter.empty)) for p in signature.parameters.values())
        + ")"
    )
