"""The registry is complete: every public scratchnn class has exactly one row, and every row runs."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import scratchnn.layers
import scratchnn.models
import scratchnn.nodes
from conformance.autograd import reference_pass
from conformance.examples import materialize
from conformance.registry import ROWS, ROWS_BY_NAME
from conformance.spec import ExampleSpec, Kind

PUBLIC_MODULES = (scratchnn.nodes, scratchnn.layers, scratchnn.models)


def public_classes() -> set[str]:
    return {
        name for module in PUBLIC_MODULES for name in module.__all__ if inspect.isclass(getattr(module, name))
    }


def test_every_public_class_has_a_row() -> None:
    missing = public_classes() - set(ROWS_BY_NAME)
    assert not missing, f"public scratchnn classes without a registry row: {sorted(missing)}"


def test_every_row_is_a_public_class_and_appears_once() -> None:
    names = [row.name for row in ROWS]
    assert len(names) == len(set(names))
    assert set(names) <= public_classes()


def test_meta_test_sees_a_new_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    class Swish:  # what a contributor adds to layers.py without a registry row
        pass

    monkeypatch.setattr(scratchnn.layers, "Swish", Swish, raising=False)
    monkeypatch.setattr(scratchnn.layers, "__all__", [*scratchnn.layers.__all__, "Swish"])
    assert "Swish" in public_classes() - set(ROWS_BY_NAME)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_reference_gives_every_gradient_target(row) -> None:  # type: ignore[no-untyped-def]
    dims = {"N": 3, "D": 2, "H": 4, "C": 3, "I": 2, "O": 3, "S": (3, 2), "n": 2, "axis": 1, "repeats": 2}
    labels = "indices" if any(t.role.value == "labels" for t in row.inputs) else "-"
    example = materialize(row, ExampleSpec(dims, "moderate", labels, seed=7))
    result = reference_pass(row, example)
    for target in row.gradient_targets():
        gradient = result.gradient(target)
        source = example.inputs.get(target[1:], example.params.get(target[1:]))
        assert gradient.shape == source.shape
        assert np.all(np.isfinite(gradient))
    if row.kind is not Kind.LAYER:
        assert result.outputs[0].shape == ()
