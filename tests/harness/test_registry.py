"""The registry is complete: every public scratchnn class that follows the layer protocol has
exactly one row, every row runs, and the registry's own declarations are consistent."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import numpy as np
import pytest

import scratchnn
from conformance.autograd import reference_pass
from conformance.examples import typical_example
from conformance.registry import ROWS, ROWS_BY_NAME
from conformance.spec import Row


def scratchnn_modules() -> list[ModuleType]:
    """Every module of the scratchnn package (the examples are scripts, not the library)."""
    names = [m.name for m in pkgutil.walk_packages(scratchnn.__path__, "scratchnn.")]
    return [importlib.import_module(n) for n in names if ".examples" not in n]


def follows_the_protocol(cls: type) -> bool:
    """A layer, loss or model (forward and backward), or a sampler of the book's protocol."""
    if getattr(cls, "_is_protocol", False):
        return False
    methods = {name for name, _ in inspect.getmembers(cls, callable)}
    return {"forward", "backward"} <= methods or "get_negative_sample" in methods


def public_classes(modules: list[ModuleType] | None = None) -> set[str]:
    found = set()
    for module in modules or scratchnn_modules():
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if inspect.isclass(value) and follows_the_protocol(value):
                found.add(name)
    return found


def test_every_public_class_has_a_row() -> None:
    missing = public_classes() - set(ROWS_BY_NAME)
    assert not missing, f"public scratchnn classes without a registry row: {sorted(missing)}"


def test_every_row_is_a_public_class_and_appears_once() -> None:
    names = [row.name for row in ROWS]
    assert len(names) == len(set(names))
    assert set(names) <= public_classes()


def test_meta_test_sees_a_new_layer_in_a_new_module() -> None:
    module = ModuleType("scratchnn.future_layers")

    class Swish:  # what a contributor adds in a module of its own, without a registry row
        def forward(self, x: object) -> object:
            return x

        def backward(self, dout: object) -> object:
            return dout

    module.Swish = Swish  # type: ignore[attr-defined]
    module.__all__ = ["Swish"]  # type: ignore[attr-defined]
    assert "Swish" in public_classes([*scratchnn_modules(), module]) - set(ROWS_BY_NAME)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_reference_gives_every_gradient_target_in_every_case(row: Row) -> None:
    for case in row.cases():
        example = typical_example(row, case)
        outputs, gradients = reference_pass(row, example)
        assert set(gradients) == set(row.gradient_targets())
        for target in row.gradient_targets():
            source = example.inputs.get(target[1:], example.params.get(target[1:]))
            assert gradients[target].shape == np.shape(source), (case, target)
            assert np.all(np.isfinite(gradients[target])), (case, target)
        if row.convention.scalar_output:
            assert outputs[0].shape == ()


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_every_row_declares_a_group_and_consistent_names(row: Row) -> None:
    assert row.group.startswith("scratchnn."), row.group
    for key in row.not_applicable:
        check = key.split(":")[0]
        assert check in (
            "forward",
            "gradient",
            "finite_difference",
            "taylor",
            "float32",
            "contract",
            "sampling",
            "stability",
            "bad_input",
        ), key
    for name in row.kinks:
        assert name in {t.name for t in row.inputs}
