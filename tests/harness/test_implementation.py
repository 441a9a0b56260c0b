"""Choosing the implementation under test: modules by name, classes by name, absence reported."""

from __future__ import annotations

import types

import pytest
from hypothesis import settings

import conformance.profiles  # noqa: F401  (registers the profiles)
import scratchnn
from conformance.engine import MemorySink, verify
from conformance.implementation import Implementation, ImplementationNotFound
from conformance.registry import ROWS_BY_NAME
from conformance.settings import IMPL_ENV


def test_default_is_scratchnn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(IMPL_ENV, raising=False)
    implementation = Implementation.load()
    assert implementation.spec == "scratchnn"
    assert implementation.find("Affine") is scratchnn.Affine


def test_environment_variable_names_the_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IMPL_ENV, "tests.harness.fixtures.broken_affine, scratchnn")
    implementation = Implementation.load()
    assert implementation.spec == "tests.harness.fixtures.broken_affine,scratchnn"
    # the first module that has a class wins; the others fill in what it lacks
    assert implementation.find("Affine").__module__ == "tests.harness.fixtures.broken_affine"
    assert implementation.find("Sigmoid") is scratchnn.Sigmoid


def test_a_missing_module_is_a_clear_error() -> None:
    with pytest.raises(ImplementationNotFound, match="cannot import implementation module 'no_such_layers'"):
        Implementation.load("no_such_layers")


def test_only_classes_count() -> None:
    module = types.ModuleType("learner")
    module.Affine = lambda W, b: None  # type: ignore[attr-defined]  # a factory function is not a class
    assert Implementation((module,)).find("Affine") is None


def test_a_class_the_implementation_lacks_is_not_implemented_not_failed() -> None:
    sink = MemorySink()
    learner = Implementation.load("tests.harness.fixtures.broken_affine")
    outcome = verify(ROWS_BY_NAME["Sigmoid"], "gradient", learner, sink, settings.get_profile("ci"))
    assert outcome.status == "not_implemented"
    assert not outcome.failed
    assert [m.status for m in sink.measurements] == ["not_implemented"]
    assert sink.outcomes == [outcome]
