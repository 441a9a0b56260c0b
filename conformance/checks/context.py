"""What every check gets for one example, and the helpers that turn results into measurements."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from conformance.autograd import Pass, reference_pass
from conformance.examples import materialize, size_of
from conformance.measurement import Measurement
from conformance.numerics import Comparison, reference_tolerance
from conformance.spec import Array, Example, Kind, Row


@dataclass(frozen=True)
class Context:
    row: Row
    cls: type
    example: Example
    impl: str  # the --impl value that selects this implementation (for replay commands)

    @cached_property
    def reference(self) -> Pass:
        """The float64 PyTorch pass on this example."""
        return reference_pass(self.row, self.example)

    @property
    def size(self) -> int:
        return size_of(self.example)

    def tolerance(self, dtype: Any) -> float:
        return reference_tolerance(dtype, self.size)

    def output_names(self, count: int) -> list[str]:
        if self.row.kind is not Kind.LAYER:
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

    def raised(self, check: str, dtype: str, error: BaseException, target: str = "-") -> Measurement:
        """The implementation raised (or broke the protocol) where it should not have."""
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
        """Another example with the same sizes and regime but other values."""
        spec = dataclasses.replace(self.example.spec, seed=(self.example.spec.seed + 1) % 2**32)
        return materialize(self.row, spec)
