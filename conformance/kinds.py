"""Input kinds: what values an input holds, as small objects the rows carry.

A kind knows how to draw its values for an example, how to cast them for the
implementation (and in which dtype), how to hand them to the PyTorch
reference, how to malform them for the ``bad_input`` check, whether they are
differentiable, and which case axes they bring. Checks never ask which kind an
input is; a new kind of input is one new class here, nothing else.

Values are drawn from ``numpy.random.default_rng(seed)`` (the example's
seed), so an example is described by a few integers and replays exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from conformance.cases import Axis, Case
from conformance.dims import Dims
from conformance.malformations import Malformation
from conformance.numerics import Array

if TYPE_CHECKING:
    from conformance.spec import Example, Tensor

REGIMES = ("moderate", "zeros", "extreme")
"""moderate: standard normal values; zeros: standard normal with about a third of the
elements exactly 0 (where ReLU has its kink, and where a hand-written 0/0 or x/|x|
breaks); extreme: magnitudes 1e2 to 1e4 with random signs (logits far beyond where
exp overflows), drawn only by the ``stability`` check."""

EXTREME_MAGNITUDES = (2.0, 4.0)
"""log10 of the smallest and largest magnitude in the extreme regime."""


def regime_values(rng: np.random.Generator, shape: tuple[int, ...], regime: str) -> Array:
    """Float64 values of ``shape`` in the named regime."""
    if regime == "extreme":
        low, high = EXTREME_MAGNITUDES
        signs = rng.choice([-1.0, 1.0], size=shape)
        return np.asarray(signs * 10.0 ** rng.uniform(low, high, size=shape))
    values = rng.standard_normal(shape)
    if regime == "zeros":
        values[rng.random(shape) < 1 / 3] = 0.0
    elif regime != "moderate":
        raise ValueError(f"unknown regime {regime!r}; known: {', '.join(REGIMES)}")
    return values


class Kind:
    """The base of every kind: not differentiable, no case axes, cast by copying."""

    differentiable = False
    follows_regime = False
    description = "values"

    def axes(self) -> list[Axis]:
        return []

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        raise NotImplementedError

    def cast(self, value: Array, dtype: Any) -> Array:
        """The value as the implementation gets it (always a fresh array)."""
        return np.array(value, copy=True)

    def to_torch(self, value: Array, requires_grad: bool) -> torch.Tensor:
        if np.issubdtype(value.dtype, np.integer):
            return torch.from_numpy(np.array(value, dtype=np.int64))
        return torch.from_numpy(np.array(value, dtype=np.float64)).requires_grad_(requires_grad)

    def malformations(self, tensor: Tensor, fixed_rank: bool) -> list[Malformation]:
        return []


def _integer_dtype(tensor: Tensor) -> Malformation:
    name, stage = tensor.name, tensor.stage
    return Malformation(
        name,
        "integer_dtype",
        lambda ex: ex.with_input(name, np.asarray(np.round(ex.value(name))).astype(np.int64)),
        stage,
    )


def _rank_changes(tensor: Tensor) -> list[Malformation]:
    name, stage = tensor.name, tensor.stage
    return [
        Malformation(name, "extra_axis", lambda ex: ex.with_input(name, ex.value(name)[np.newaxis]), stage),
        Malformation(
            name,
            "missing_axis",
            lambda ex: ex.with_input(name, ex.value(name)[0]),
            stage,
            applies=lambda ex: ex.value(name).ndim >= 1,
        ),
    ]


class Real(Kind):
    """Real values in the case's regime; differentiable; cast to the checked dtype."""

    differentiable = True
    follows_regime = True
    description = "real"

    def axes(self) -> list[Axis]:
        return [Axis("regime", ("moderate", "zeros"))]

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        return regime_values(rng, shape, case.get_str("regime", "moderate"))

    def cast(self, value: Array, dtype: Any) -> Array:
        return np.asarray(value).astype(dtype)

    def malformations(self, tensor: Tensor, fixed_rank: bool) -> list[Malformation]:
        return [_integer_dtype(tensor), *(_rank_changes(tensor) if fixed_rank else [])]


class RegressionTarget(Kind):
    """Real regression targets (standard normal whatever the regime); not differentiable."""

    description = "regression target"

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        return rng.standard_normal(shape)

    def cast(self, value: Array, dtype: Any) -> Array:
        return np.asarray(value).astype(dtype)

    def malformations(self, tensor: Tensor, fixed_rank: bool) -> list[Malformation]:
        return [_integer_dtype(tensor), *(_rank_changes(tensor) if fixed_rank else [])]


@dataclass(frozen=True)
class ClassLabels(Kind):
    """Class labels over the dimension ``classes``: int64 indices of the tensor's shape, or
    one-hot rows (the shape plus a class axis) in the checked dtype; the case axis ``labels``.

    With ``ignore_label`` set, about a quarter of the positions of index labels hold it
    (never all of them): the loss and its gradient must leave those positions out.
    """

    classes: str = "C"
    formats: tuple[str, ...] = ("indices", "one_hot")
    ignore_label: int | None = None
    description = "class labels"

    def axes(self) -> list[Axis]:
        if len(self.formats) < 2:
            return []
        return [Axis("labels", self.formats, {"one_hot": "one-hot", "indices": "indices"})]

    def format(self, case: Case) -> str:
        # A kind with one format brings no axis; the case's ``labels`` belongs to another input.
        if len(self.formats) == 1:
            return self.formats[0]
        return case.get_str("labels", self.formats[0])

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        n_classes = int(dims[self.classes])
        indices = rng.integers(0, n_classes, size=shape)
        if self.format(case) == "one_hot":
            return np.eye(n_classes)[indices]
        if self.ignore_label is not None and indices.size:
            ignored = rng.random(shape) < 0.25
            if ignored.all():
                ignored.reshape(-1)[rng.integers(indices.size)] = False
            indices = np.where(ignored, self.ignore_label, indices)
        return indices.astype(np.int64)

    def cast(self, value: Array, dtype: Any) -> Array:
        return value.astype(dtype) if value.dtype.kind == "f" else value.copy()

    def malformations(self, tensor: Tensor, fixed_rank: bool) -> list[Malformation]:
        name, classes = tensor.name, self.classes

        def indices_of(example: Example) -> Array:
            labels = example.value(name)
            return labels.argmax(axis=-1) if labels.dtype.kind == "f" else labels.copy()

        def set_first(value: int) -> Any:
            """The first label that is not ignore_label set to ``value``."""

            def make(example: Example) -> Any:
                labels = indices_of(example)
                flat = labels.reshape(-1)
                kept = np.flatnonzero(flat != self.ignore_label) if self.ignore_label is not None else [0]
                flat[kept[0]] = value
                return example.with_input(name, labels)

            return make

        def one_hot_row_zero(example: Example) -> Any:
            n_classes = example.dims[classes]
            one_hot = np.eye(n_classes)[np.maximum(indices_of(example), 0)]
            one_hot.reshape(-1, n_classes)[0] = 0.0
            return example.with_input(name, one_hot)

        found = [
            Malformation(name, "index_out_of_range", lambda ex: set_first(ex.dims[classes])(ex)),
            Malformation(name, "negative_index", set_first(-1)),
            Malformation(
                name, "float_indices", lambda ex: ex.with_input(name, indices_of(ex).astype(np.float64))
            ),
            Malformation(
                name,
                "batch_mismatch",
                lambda ex: ex.with_input(name, np.concatenate([indices_of(ex), indices_of(ex)[:1]])),
                applies=lambda ex: indices_of(ex).ndim >= 1,
            ),
        ]
        if self.ignore_label == -1:
            found.append(Malformation(name, "below_ignore_label", set_first(-2)))
        if "one_hot" in self.formats:
            found.append(Malformation(name, "one_hot_not_distribution", one_hot_row_zero))
        return found


class BinaryLabels(Kind):
    """0/1 labels (int64) of the tensor's shape."""

    description = "0/1 labels"

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        return rng.integers(0, 2, size=shape).astype(np.int64)

    def malformations(self, tensor: Tensor, fixed_rank: bool) -> list[Malformation]:
        name = tensor.name

        def out_of_range(example: Example) -> Any:
            labels = example.value(name).copy()
            labels.reshape(-1)[0] = 2
            return example.with_input(name, labels)

        def reshaped(example: Example) -> Any:
            return example.with_input(name, np.append(example.value(name).reshape(-1), 0))

        return [Malformation(name, "out_of_range", out_of_range), Malformation(name, "shape", reshaped)]


@dataclass(frozen=True)
class Indices(Kind):
    """Integer indices into a table of ``table`` rows (an embedding's W, a vocabulary): int64.

    Half the examples with at least two indices are guaranteed a duplicate (an index
    copied to a second position): a backward that writes ``dW[idx] = dout`` instead of
    accumulating drops every duplicate but one.
    """

    table: str = "V"
    description = "integer indices"

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        size = int(dims[self.table])
        values = rng.integers(0, size, size=shape).astype(np.int64)
        flat = values.reshape(-1)
        if flat.size >= 2 and rng.random() < 0.5:
            source, target = rng.choice(flat.size, size=2, replace=False)
            flat[target] = flat[source]
        return values

    def malformations(self, tensor: Tensor, fixed_rank: bool) -> list[Malformation]:
        name, table, stage = tensor.name, self.table, tensor.stage

        def set_first(value: Any) -> Any:
            def make(example: Example) -> Any:
                values = example.value(name).copy()
                values.reshape(-1)[0] = value(example)
                return example.with_input(name, values)

            return make

        found = [
            Malformation(name, "index_out_of_range", set_first(lambda ex: ex.dims[table]), stage),
            Malformation(name, "negative_index", set_first(lambda ex: -1), stage),
            Malformation(
                name,
                "float_indices",
                lambda ex: ex.with_input(name, ex.value(name).astype(np.float64)),
                stage,
            ),
        ]
        if fixed_rank:
            found.append(
                Malformation(
                    name, "extra_axis", lambda ex: ex.with_input(name, ex.value(name)[np.newaxis]), stage
                )
            )
        return found


class Observed(Kind):
    """Drawn by the layer itself (a dropout mask) and read back after forward (see
    ``conventions.SeededDraws``); drawn here as ones, which no reference reads."""

    description = "drawn by the layer, read back"

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        return np.ones(shape)


@dataclass(frozen=True)
class Corpus(Kind):
    """A corpus of word ids over ``table`` words in which every id occurs (constructor data)."""

    table: str = "V"
    description = "corpus of word ids"

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        size = int(dims[self.table])
        extra = rng.integers(0, size, size=max(0, int(np.prod(shape)) - size))
        return rng.permutation(np.concatenate([np.arange(size), extra])).astype(np.int64)


@dataclass(frozen=True)
class NegativeTable(Kind):
    """For each of ``table`` words, the negative samples a sampler returns for it: row w is
    drawn from the other words, so no row ever holds its own word. The harness hands the
    rows picked by the targets to the layer (see ``conventions.SharedNegatives``) and to the
    reference."""

    table: str = "V"
    description = "negative samples per word"

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], dims: Dims, case: Case) -> Array:
        words, samples = shape
        offsets = rng.integers(1, max(words, 2), size=(words, samples))
        return ((np.arange(words)[:, None] + offsets) % words).astype(np.int64)
