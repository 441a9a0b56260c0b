"""The implementation under test: importable modules whose classes follow the book's protocol.

``--impl common.layers,two_layer_net`` (or ``SCRATCHNN_IMPL``) names the
modules; a row's class is looked up by name in each module in order, and the
first match is used. A class found nowhere is reported as not implemented.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from conformance.settings import implementation_modules


class ImplementationNotFound(Exception):
    """A module of the implementation under test cannot be imported."""


@dataclass(frozen=True)
class Implementation:
    modules: tuple[ModuleType, ...]

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

    @classmethod
    def load(cls, names: str | Sequence[str] | None = None) -> Implementation:
        """Import the named modules (comma-separated string or list; default: SCRATCHNN_IMPL or scratchnn)."""
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
        return cls(tuple(modules))
