"""What every check gets for one example, and the helpers that turn results into measurements."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from conformance import invoke
from conformance.autograd import reference_pass
from conformance.examples import materialize, size_of
from conformance.invoke import ImplementationRaised, ProtocolViolation, Unavailable
from conformance.measurement import Measurement
from conformance.numerics import Array, Comparison, compare, reference_tolerance
from conformance.spec import Example, Row


@dataclass(frozen=True)
class Reference:
    """The float64 PyTorch pass on an example: outputs, and gradients by target name."""

    outputs: tuple[Array, ...]
    gradients: dict[str, Array]

    def gradient(self, target: str) -> Array:
        return self.gradients[target]


@dataclass(frozen=True)
class Context:
    row: Row
    cls: type
    example: Example
    impl: str  # the --impl value that selects this implementation (for replay commands)

    @cached_property
    def observed(self) -> Example:
        """The example with the draws the layer made (a dropout mask) as hidden inputs, read
        from one float64 forward call; the example itself when the layer draws nothing."""
        return observe(self.row, self.cls, self.example)

    @cached_property
    def reference(self) -> Reference:
        """The float64 PyTorch pass on this example (with the layer's own draws)."""
        return Reference(*reference_pass(self.row, self.observed))

    @property
    def size(self) -> int:
        return size_of(self.example)

    def tolerance(self, dtype: Any) -> float:
        return reference_tolerance(dtype, self.size) * self.row.tolerance_factor

    def output_names(self, count: int) -> list[str]:
        if self.row.convention.scalar_output:
            return ["loss"]
        return ["out"] if count == 1 else [f"out{i}" for i in range(count)]

    @cached_property
    def shapes(self) -> dict[str, list[int]]:
        shapes = {name: list(np.shape(v)) for name, v in self.example.inputs.items()}
        shapes |= {name: list(np.shape(v)) for name, v in self.example.params.items()}
        for name, dout in zip(self.output_names(len(self.example.douts)), self.example.douts, strict=True):
            shapes[name] = list(np.shape(dout))
        return shapes

    def measurement(
        self, check: str, target: str, dtype: str, status: str = "pass", **fields: Any
    ) -> Measurement:
        return Measurement(
            layer=self.row.name,
            check=check,
            target=target,
            dtype=dtype,
            status=status,
            case=self.example.case.text,
            example=self.example.spec.to_json(),
            shapes=self.shapes,
            impl=self.impl,
            **fields,
        )

    def compared(
        self, check: str, target: str, dtype: str, comparison: Comparison, **fields: Any
    ) -> Measurement:
        status = "pass" if comparison.passed else "fail"
        return self.measurement(check, target, dtype, status, **fields).with_comparison(comparison)

    def compare_gradient(
        self,
        check: str,
        target: str,
        dtype: str,
        actual: Array | Unavailable,
        expected: Array,
        tolerance: float,
        exclude: Array | None = None,
        **fields: Any,
    ) -> Measurement:
        """One gradient against its expected value; an unreadable gradient is reported as
        such, and a gradient of the wrong shape gets a one-line cause naming the method."""
        if isinstance(actual, Unavailable):
            return self.unavailable(check, target, dtype, actual)
        wrong = self.wrong_shape(check, target, dtype, actual, np.shape(expected))
        if wrong is not None:
            return wrong
        return self.compared(check, target, dtype, compare(actual, expected, tolerance, exclude), **fields)

    def wrong_shape(
        self, check: str, target: str, dtype: str, actual: Array, expected: tuple[int, ...]
    ) -> Measurement | None:
        """A failure naming where a gradient of the wrong shape came from, or None. The gradient
        check reports it; the other checks that compare the same gradient mark it unavailable."""
        if np.shape(actual) == expected:
            return None
        source = target[1:]
        where = "grads" if source in self.row.param_names else "backward"
        detail = (
            f"{self.row.name}.{where} gave {target} of shape {np.shape(actual)};"
            f" {source} has shape {expected}"
        )
        if check == "gradient":
            return self.measurement(check, target, dtype, "fail", detail=detail)
        return self.measurement(
            check, target, dtype, "unavailable", detail=f"{detail} (reported under gradient)"
        )

    def unavailable(self, check: str, target: str, dtype: str, missing: Unavailable) -> Measurement:
        status = "unavailable" if missing.defect else "skipped"
        return self.measurement(check, target, dtype, status, detail=missing.reason)

    def raised(self, check: str, dtype: str, error: BaseException, target: str = "-") -> Measurement:
        """The implementation raised (or broke the protocol) where it should not have. A
        floating-point error (overflow, 0/0) is a numerical failure of the check; anything
        else stopped the check from measuring, an error."""
        if isinstance(error, ImplementationRaised):
            numerical = isinstance(error.error, FloatingPointError | RuntimeWarning)
            return self.measurement(
                check, target, dtype, "fail" if numerical else "error", detail=error.short
            )
        if isinstance(error, ProtocolViolation) and error.home and error.home != check:
            detail = f"{error} (reported under {error.home})"
            return self.measurement(check, target, dtype, "unavailable", detail=detail)
        return self.measurement(check, target, dtype, "error", detail=str(error))

    def kink_distance(self, input_name: str, example: Example | None = None) -> Array | None:
        """Distance of each element of the input to the nearest kink, if the row has kinks there."""
        distance = self.row.kinks.get(input_name)
        values = (example or self.example).inputs[input_name]
        return None if distance is None else np.asarray(distance(values))

    def at_kink(self, target: str, example: Example | None = None) -> Array | None:
        """Elements of the gradient ``target`` that sit exactly on a kink (ReLU at 0): any value
        between the one-sided derivatives is a valid subgradient there, so none is judged."""
        distance = self.kink_distance(target[1:], example) if target[1:] in self.row.kinks else None
        return None if distance is None else distance == 0

    def sibling_example(self) -> Example:
        """Another example with the same sizes, case and parameters but other input values
        (the parameters stay: a layer keeps its weights from one call to the next)."""
        spec = dataclasses.replace(self.example.spec, seed=(self.example.spec.seed + 1) % 2**32)
        return dataclasses.replace(materialize(self.row, spec), params=self.example.params)


def observe(row: Row, cls: type, example: Example) -> Example:
    """``example`` with the draws a float64 forward call of the implementation made."""
    if not any(source.observes for source in row.convention.randomness):
        return example
    instance = invoke.construct(row, cls, example, np.float64)
    invoke.forward(row, instance, invoke.cast_values(row, example, np.float64))
    return example.with_inputs(instance.observed) if instance.observed else example


__all__ = ["Context", "ImplementationRaised", "ProtocolViolation", "Reference", "observe"]
