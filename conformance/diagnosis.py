"""Likely causes of a wrong gradient or output: a catalogue of numerical tests on the failing case.

Every entry compares what the implementation computed with a transformation of
the reference's: times a constant, transposed, another input's gradient, the
gradient for an upstream gradient of ones (or of one time step alone, or read in
time-major order), the same but at duplicated indices, at one time step or at
masked positions, one time step's share of a weight gradient, rounded to float32,
summed or averaged over an axis, the upstream gradient summed over the wrong
axis ... An entry is a small function
with a docstring naming the bug it recognises; it returns a :class:`Diagnosis`
only when its test holds to the check's own tolerance, so the harness says
nothing rather than guess. An entry asks :class:`Evidence` for what it needs
(the reference on a changed example included), so adding a diagnosis is one
function appended to :data:`CATALOGUE`, the order they are tried in: the first
that holds is the likely cause.

An entry never holds vacuously: a constant factor needs two nonzero values
to be more than a ratio (or, for a single loss value, a factor named by the
example's sizes), "right except at ..." needs something compared and something
excepted, and the transformed reference must differ from the reference. And
since a shrunk example is small enough for a coincidence, the harness reports a
diagnosis only when it explains every failing example it examines, in every
failing case (see :mod:`conformance.explain`).

Diagnoses run only for failing cases, so a passing run costs nothing more.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.kinds import ClassLabels, Indices, Observed
from conformance.numerics import Array, compare, reference_tolerance, unit_roundoff
from conformance.spec import Example, Row

Rerun = Callable[[str, Callable[[Example], Example]], Mapping[str, Array]]
"""``rerun(key, change)``: the reference's outputs and gradients on ``change(example)``, computed
once per example and key (several targets' entries ask for the same rerun)."""


@dataclass(frozen=True)
class Evidence:
    """One failing target of one example: what the implementation gave, what the reference
    gives, and the means to ask what the reference gives on a changed example.

    ``reference`` holds every reference result by target name (``out``, ``dx``, ``dW`` ...).
    ``example`` is the example as the implementation ran it (with what it drew, a dropout mask,
    read back); an entry that needs the reference on a changed example (upstream gradients of
    ones, a weight transposed) asks ``reference_with``, so an entry is self-contained.
    """

    target: str
    actual: Array
    expected: Array
    tolerance: float
    dtype: str
    row: Row
    example: Example
    reference: Mapping[str, Array]
    rerun: Rerun
    per_step: Callable[[], Mapping[str, Array]] | None = None
    """For a recurrent row: each parameter gradient of the reference split into the time steps'
    contributions, by target (arrays (T, *shape)); None for other rows."""

    @property
    def dims(self) -> Mapping[str, Any]:
        return self.example.dims

    def reference_with(self, key: str, change: Callable[[Example], Example]) -> Mapping[str, Array]:
        """The reference's results on ``change(example)``; ``key`` names the change."""
        return self.rerun(key, change)

    @property
    def duplicated_rows(self) -> Array | None:
        """Rows of a table gradient (dW of an embedding) hit by an index that occurs more than
        once, or None when the target is not such a gradient."""
        source = self.example.params.get(self.target[1:])
        if source is None or source.ndim < 1:
            return None
        for tensor in self.row.inputs:
            if isinstance(tensor.kind, Indices) and int(self.dims[tensor.kind.table]) == source.shape[0]:
                values = self.example.inputs[tensor.name].reshape(-1)
                inside = values[(values >= 0) & (values < source.shape[0])]
                return np.asarray(np.bincount(inside, minlength=source.shape[0]) > 1)
        return None

    @property
    def ignored(self) -> Array | None:
        """Label positions a loss ignores (labels equal to the ignore label), or None when the
        row has no such labels (one-hot labels ignore nothing)."""
        for tensor in self.row.inputs:
            value = self.example.inputs[tensor.name]
            if (
                isinstance(tensor.kind, ClassLabels)
                and tensor.kind.ignore_label is not None
                and value.dtype.kind in "iu"
            ):
                return np.asarray(value == tensor.kind.ignore_label)
        return None

    @property
    def masked(self) -> Array | None:
        """The ignored label positions, when they are the leading axes of the target (dxs of a
        loss over (N, T) labels). A dropout's dropped units are not used: a mask redrawn in
        backward drops other units, and a gradient wrong everywhere but there would read as
        right there."""
        mask, shape = self.ignored, np.shape(self.expected)
        if mask is not None and mask.shape == shape[: mask.ndim]:
            return mask
        return None

    @property
    def time_axis(self) -> int | None:
        """Axis 1 of a batch-major sequence (N, T, ...) when the example has time steps."""
        steps = self.dims.get("T")
        shape = np.shape(self.expected)
        if isinstance(steps, int) and len(shape) >= 2 and shape[1] == steps:
            return 1
        return None

    def holds(self, candidate: Array, exclude: Array | None = None) -> tuple[bool, float]:
        """Whether ``actual`` equals ``candidate`` (where not excluded) within the tolerance, and
        the residual (max relative error after the transformation). Never vacuously: something
        nonzero must be compared, and without exclusions the candidate must differ from the
        reference (else it would explain nothing)."""
        if np.shape(candidate) != np.shape(self.actual):
            return False, math.inf
        candidate = np.asarray(candidate, dtype=np.float64)
        compared = np.ones(candidate.shape, dtype=bool) if exclude is None else ~np.asarray(exclude)
        if not np.any(candidate[compared]):
            return False, math.inf
        unchanged = exclude is None and self.expected.shape == candidate.shape
        if unchanged and compare(candidate, self.expected, self.tolerance).passed:
            return False, math.inf
        comparison = compare(self.actual, candidate, self.tolerance, exclude)
        return comparison.passed, comparison.max_rel_err

    def agrees(self) -> bool:
        """Whether the implementation agrees with the reference here (nothing to explain)."""
        return (
            self.actual.shape == self.expected.shape
            and compare(self.actual, self.expected, self.tolerance).passed
        )

    def excepted_differ(self, exclude: Array) -> bool:
        """Whether the implementation disagrees with the reference where ``exclude`` is set (a
        "right except at ..." diagnosis must except where the disagreement is)."""
        if not np.any(exclude) or self.actual.shape != self.expected.shape:
            return False
        return not compare(self.actual, self.expected, self.tolerance, ~np.asarray(exclude)).passed


@dataclass(frozen=True)
class Diagnosis:
    """A catalogue entry that holds: its name, the sentence a reader sees, its parameters (such
    as k) and its evidence (the residual after the transformation)."""

    entry: str
    text: str
    parameters: dict[str, Any]
    residual: float

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "text": self.text,
            "parameters": self.parameters,
            "residual": self.residual,
        }

    @property
    def line(self) -> str:
        """``likely cause: dW is the transpose of the right gradient (matches to 2e-16)``."""
        return f"likely cause: {self.text} (matches to {self.residual:.0e})"


Entry = Callable[[Evidence], Diagnosis | None]


def _found(entry: str, text: str, residual: float, **parameters: Any) -> Diagnosis:
    return Diagnosis(entry, text, parameters, float(residual))


def _if_holds(
    evidence: Evidence, candidate: np.ndarray[Any, Any] | None, entry: str, text: str, **parameters: Any
) -> Diagnosis | None:
    """The diagnosis ``entry`` if ``candidate`` is what the implementation gave; None if it is not,
    or if there is no candidate."""
    if candidate is None:
        return None
    holds, residual = evidence.holds(candidate)
    return _found(entry, text, residual, **parameters) if holds else None


def rounded_to_float32(evidence: Evidence) -> Diagnosis | None:
    """Precision lost to float32: a float64 computation agrees with the reference only as well as
    float32 arithmetic can (a buffer allocated with dtype='f', a float32 constant)."""
    if evidence.dtype != "float64" or evidence.actual.shape != evidence.expected.shape:
        return None
    actual = np.asarray(evidence.actual, dtype=np.float64)
    if not np.array_equal(actual, actual.astype(np.float32).astype(np.float64)):
        return None  # a float32 buffer leaves values that float32 represents exactly
    loose = reference_tolerance(np.float32, max(int(np.size(evidence.actual)), 1))
    comparison = compare(evidence.actual, evidence.expected, loose)
    if not comparison.passed or comparison.max_rel_err < 100 * unit_roundoff(np.float64):
        return None
    return _found(
        "float32_rounding",
        f"{evidence.target} differs from the right value by float32 rounding only"
        f" (max rel err {comparison.max_rel_err:.1e}):"
        " a float32 buffer or constant in a float64 computation?",
        comparison.max_rel_err,
        float32_tolerance=loose,
    )


def never_written(evidence: Evidence) -> Diagnosis | None:
    """A gradient left at zero: never computed, or computed and not written into the array read."""
    if np.count_nonzero(evidence.expected) < 2 or np.any(evidence.actual):
        return None
    return _found(
        "zero",
        f"{evidence.target} is zero everywhere:"
        " never computed, not written back, or overwritten by a zero term",
        0.0,
    )


def ignores_dout(evidence: Evidence) -> Diagnosis | None:
    """The upstream gradient ignored: backward computes as if dout were all ones."""
    ones = evidence.reference_with(
        "ones", lambda example: example.with_douts(tuple(np.ones_like(d) for d in example.douts))
    )
    return _if_holds(
        evidence,
        ones.get(evidence.target),
        "ignores_dout",
        f"{evidence.target} is what an upstream gradient of ones gives: dout is ignored",
    )


def transposed(evidence: Evidence) -> Diagnosis | None:
    """A gradient transposed (x @ dout.T for x.T @ dout)."""
    if evidence.expected.ndim != 2 or min(evidence.expected.shape) < 2:
        return None
    return _if_holds(
        evidence,
        evidence.expected.T,
        "transposed",
        f"{evidence.target} is the transpose of the right gradient",
    )


def parameter_transposed(evidence: Evidence) -> Diagnosis | None:
    """A missing transpose on a weight (dout @ W where dout @ W.T belongs): the result equals
    the right formula evaluated with that square weight transposed."""
    square = [
        name
        for name, value in evidence.example.params.items()
        if value.ndim == 2 and value.shape[0] == value.shape[1] and value.shape[0] > 1
    ]
    for name in square:
        results = evidence.reference_with(f"{name}.T", functools.partial(_transpose_param, name))
        found = _if_holds(
            evidence,
            results.get(evidence.target),
            "parameter_transposed",
            f"{evidence.target} is what the right formula gives with {name} transposed:"
            f" a missing (or extra) .T on {name}",
            parameter=name,
        )
        if found is not None:
            return found
    return None


def _transpose_param(name: str, example: Example) -> Example:
    return example.with_param(name, example.params[name].T.copy())


def other_gradient(evidence: Evidence) -> Diagnosis | None:
    """Two gradients swapped: the result is the reference's gradient of another input or
    parameter (dx = dout * x for a product, where dout * y belongs)."""
    for name, candidate in evidence.reference.items():
        if (
            name == evidence.target
            or not name.startswith("d")
            or np.shape(candidate) != np.shape(evidence.actual)
        ):
            continue
        holds, residual = evidence.holds(candidate)
        if holds and np.any(candidate):
            return _found(
                "other_gradient",
                f"{evidence.target} is the right {name}: the gradients are swapped",
                residual,
                other=name,
            )
    return None


def first_upstream_only(evidence: Evidence) -> Diagnosis | None:
    """A second path dropped: with several upstream gradients (a Branch, an RNN step), backward
    uses the first and drops the others instead of adding them."""
    if len(evidence.example.douts) < 2:
        return None
    first = evidence.reference_with(
        "first dout",
        lambda example: example.with_douts(
            (example.douts[0], *(np.zeros_like(d) for d in example.douts[1:]))
        ),
    )
    return _if_holds(
        evidence,
        first.get(evidence.target),
        "first_upstream_only",
        f"{evidence.target} uses the first upstream gradient only: the others are dropped instead of added",
    )


def except_duplicates(evidence: Evidence) -> Diagnosis | None:
    """An overwrite where an accumulation belongs: a table gradient whose rows hit by a repeated
    index hold one occurrence's gradient (the last written, as ``dW[idx] = dout`` leaves it, or
    the first) instead of the sum; the reference with the upstream gradient of the other
    occurrences zeroed gives exactly that."""
    rows = evidence.duplicated_rows
    if rows is None or not rows.any():
        return None
    for which in ("last", "first"):
        kept = evidence.reference_with(
            f"{which} occurrence only", functools.partial(_one_occurrence, evidence.row, which)
        )
        candidate = kept.get(evidence.target)
        if candidate is None:
            continue
        holds, residual = evidence.holds(candidate)
        if holds:
            repeated = [int(r) for r in np.flatnonzero(rows)]
            return _found(
                "except_duplicates",
                f"{evidence.target} is right except at the rows of repeated indices {repeated}, which hold"
                f" the {which} occurrence's gradient: overwritten instead of added",
                residual,
                rows=repeated,
                kept=which,
            )
    return None


def _one_occurrence(row: Row, which: str, example: Example) -> Example:
    """The example with the upstream gradient kept only at the ``which`` ("first" or "last")
    occurrence of each index, zero at its other occurrences."""
    douts = list(example.douts)
    for tensor in row.inputs:
        if not isinstance(tensor.kind, Indices):
            continue
        ids = example.inputs[tensor.name]
        flat = ids.reshape(-1)
        order = range(flat.size) if which == "first" else range(flat.size - 1, -1, -1)
        keep, seen = np.zeros(flat.size, dtype=bool), set()
        for position in order:
            if int(flat[position]) not in seen:
                seen.add(int(flat[position]))
                keep[position] = True
        for i, dout in enumerate(douts):
            if np.shape(dout)[: ids.ndim] == ids.shape:
                douts[i] = dout * keep.reshape(ids.shape + (1,) * (np.ndim(dout) - ids.ndim))
        break
    return example.with_douts(tuple(douts))


def only_last_step(evidence: Evidence) -> Diagnosis | None:
    """The gradient carried back through time dropped: right at the last step (which needs no
    carried gradient) and wrong at every earlier one."""
    axis = evidence.time_axis
    if axis is None or evidence.expected.ndim <= axis or evidence.expected.shape[axis] < 2:
        return None
    steps = evidence.expected.shape[axis]
    exclude = np.ones(evidence.expected.shape, dtype=bool)
    index: list[Any] = [slice(None)] * evidence.expected.ndim
    index[axis] = steps - 1
    exclude[tuple(index)] = False
    holds, residual = evidence.holds(evidence.expected, exclude)
    if not holds:
        return None
    for step in range(steps - 1):
        index[axis] = step
        if compare(evidence.actual[tuple(index)], evidence.expected[tuple(index)], evidence.tolerance).passed:
            return None
    return _found(
        "only_last_step",
        f"{evidence.target} is right at the last time step only: the gradient carried back through time"
        " (dh from the next step) is not added",
        residual,
    )


def except_one_step(evidence: Evidence) -> Diagnosis | None:
    """A time step left out or overwritten: right at every step but one."""
    axis = evidence.time_axis
    if axis is None or evidence.expected.ndim <= axis or evidence.expected.shape[axis] < 2:
        return None
    for step in range(evidence.expected.shape[axis]):
        exclude = np.zeros(evidence.expected.shape, dtype=bool)
        index: list[Any] = [slice(None)] * evidence.expected.ndim
        index[axis] = step
        exclude[tuple(index)] = True
        holds, residual = evidence.holds(evidence.expected, exclude)
        if holds and evidence.excepted_differ(exclude):
            return _found(
                "except_one_step",
                f"{evidence.target} is right except at time step {step}",
                residual,
                step=step,
            )
    return None


def mask_forgotten(evidence: Evidence) -> Diagnosis | None:
    """A mask the layer drew in forward (dropout's) forgotten in backward: the gradient is what
    it would be with every unit kept."""
    return _if_holds(
        evidence,
        _unmasked(evidence),
        "mask_forgotten",
        f"{evidence.target} is what keeping every unit gives: the mask drawn in forward is forgotten"
        " in backward",
    )


def mask_redrawn(evidence: Evidence) -> Diagnosis | None:
    """A mask applied in backward that is not the one forward drew (dropout drawing again in
    backward): the gradient is the every-unit-kept one, zeroed at other units than forward's
    (all of them, in a small example). Tried before "zero everywhere", which a mask dropping
    every unit also gives."""
    unmasked = _unmasked(evidence)
    actual = np.asarray(evidence.actual, dtype=np.float64)
    if unmasked is None or unmasked.shape != actual.shape:
        return None
    scale = max(float(np.max(np.abs(unmasked))), 1e-300)
    live = np.abs(unmasked) > evidence.tolerance * scale
    kept = live & (np.abs(actual - unmasked) <= evidence.tolerance * scale)
    dropped = np.abs(actual) <= evidence.tolerance * scale
    if not np.all(kept | dropped) or not np.any(live & ~kept):
        return None  # not a 0/1 pattern over the unmasked gradient, or nothing dropped
    pattern = np.where(kept, unmasked, 0.0)
    if not np.any(pattern):  # every unit dropped: a mask unlike forward's if forward kept some
        holds, residual = bool(np.any(evidence.expected)), 0.0
    else:
        holds, residual = evidence.holds(pattern)
    if not holds:
        return None
    return _found(
        "mask_redrawn",
        f"{evidence.target} is masked, but not by the mask forward drew: a mask drawn again in backward?",
        residual,
        dropped=int(np.sum(live & ~kept)),
    )


def _unmasked(evidence: Evidence) -> Array | None:
    """The reference's result for the target with every unit a layer drew (a dropout mask) kept,
    or None when the row draws nothing."""
    drawn = [t.name for t in evidence.row.inputs if isinstance(t.kind, Observed)]
    if not drawn:
        return None
    unmasked = evidence.reference_with(
        "unmasked",
        lambda example: example.with_inputs({name: np.ones_like(example.inputs[name]) for name in drawn}),
    )
    candidate = unmasked.get(evidence.target)
    return None if candidate is None else np.asarray(candidate, dtype=np.float64)


def normalised_over_wrong_axis(evidence: Evidence) -> Diagnosis | None:
    """A softmax (or any normalisation) over the wrong axis: the output sums to one along an axis
    where the right output does not, and not along the axis where the right one does."""
    expected, actual = evidence.expected, np.asarray(evidence.actual, dtype=np.float64)
    if not _is_output(evidence.target) or actual.shape != expected.shape or actual.ndim < 1:
        return None
    if np.any(actual < 0):
        return None

    def sums_to_one(values: Array, axis: int) -> bool:
        totals = np.sum(values, axis=axis)
        return bool(compare(totals, np.ones_like(totals), evidence.tolerance).passed)

    right = [axis for axis in range(expected.ndim) if sums_to_one(expected, axis)]
    if not right or any(sums_to_one(actual, axis) for axis in right):
        return None
    for axis in range(actual.ndim):
        if axis not in right and sums_to_one(actual, axis):
            return _found(
                "normalised_over_wrong_axis",
                f"{evidence.target} sums to one over axis {axis}, where the right one sums to one over"
                f" axis {right[0]}: a softmax over the wrong axis",
                float(np.max(np.abs(np.sum(actual, axis=axis) - 1.0))),
                axis=axis,
                right_axis=right[0],
            )
    return None


def except_masked(evidence: Evidence) -> Diagnosis | None:
    """A mask applied in forward and forgotten in backward (labels to ignore): right everywhere
    except at the masked positions."""
    mask = evidence.masked
    if mask is None or not mask.any():
        return None
    exclude = np.broadcast_to(
        mask.reshape(mask.shape + (1,) * (evidence.expected.ndim - mask.ndim)), evidence.expected.shape
    )
    holds, residual = evidence.holds(evidence.expected, exclude)
    if not holds or not evidence.excepted_differ(exclude):
        return None
    return _found(
        "except_masked",
        f"{evidence.target} is right except at the masked positions: the mask is applied in forward"
        " and forgotten in backward",
        residual,
        masked=int(mask.sum()),
    )


def not_repeated(evidence: Evidence) -> Diagnosis | None:
    """A broadcast forgotten in backward (a Sum node's, a bias's): the right gradient is the same
    along an axis, and the implementation returns one copy where it should repeat it."""
    expected, actual = evidence.expected, evidence.actual
    if actual.shape == expected.shape:
        return None
    for axis in range(expected.ndim):
        if expected.shape[axis] < 2:
            continue
        first = np.take(expected, [0], axis=axis)
        if not compare(np.broadcast_to(first, expected.shape), expected, evidence.tolerance).passed:
            continue  # the right gradient varies along this axis: not a repeat
        for candidate in (first, np.squeeze(first, axis=axis)):
            holds, residual = evidence.holds(candidate)
            if holds:
                return _found(
                    "not_repeated",
                    f"{evidence.target} has shape {_plain(actual.shape)} where {_plain(expected.shape)}"
                    f" belongs: the upstream gradient is not repeated along axis {axis}",
                    residual,
                    axis=axis,
                )
    return None


def upstream_reduced_wrongly(evidence: Evidence) -> Diagnosis | None:
    """A reduction of the upstream gradient gone wrong: a sum over the wrong axis (db =
    dout.sum(axis=1) where the sum over the batch, axis 0, belongs), or a mean where the sum
    belongs. As returned, or broadcast into the gradient's array (``db[...] = ...`` with a batch
    of one)."""
    for index, dout in enumerate(evidence.example.douts):
        name = "dout" if len(evidence.example.douts) == 1 else f"upstream gradient {index}"
        right_axis = _summed_axis(evidence, dout)
        for axis in range(np.ndim(dout)):
            if np.shape(dout)[axis] < 2:
                continue  # a reduction over one element changes nothing
            for how, reduce in (("summed", np.sum), ("averaged", np.mean)):
                try:
                    reduced = np.broadcast_to(reduce(dout, axis=axis), np.shape(evidence.actual))
                except ValueError:
                    continue
                holds, residual = evidence.holds(reduced)
                if not holds:
                    continue
                if how == "averaged" and right_axis == axis:
                    return _found(
                        "mean_for_sum",
                        f"{evidence.target} is {name} averaged over axis {axis}:"
                        " a mean where the sum belongs",
                        residual,
                        axis=axis,
                    )
                right = "" if right_axis is None else f" where the sum over axis {right_axis} belongs"
                return _found(
                    "upstream_wrong_axis",
                    f"{evidence.target} is {name} {how} over axis {axis}{right}:"
                    " a reduction over the wrong axis",
                    residual,
                    axis=axis,
                    how=how,
                )
    return None


def _summed_axis(evidence: Evidence, dout: Array) -> int | None:
    """The axis whose sum of ``dout`` the right gradient is, if it is one."""
    for axis in range(np.ndim(dout)):
        summed = np.sum(dout, axis=axis)
        if (
            summed.shape == evidence.expected.shape
            and compare(summed, evidence.expected, evidence.tolerance).passed
        ):
            return axis
    return None


def batch_and_time_mixed(evidence: Evidence) -> Diagnosis | None:
    """Batch-major and time-major orders mixed: (N, T, ...) rows flattened in one order and read
    back in the other, either in the result (dx) or in the upstream gradient it is computed from
    (dout taken time-major against batch-major word ids)."""
    expected = evidence.expected
    if expected.ndim < 2 or min(expected.shape[:2]) < 2:
        reordered = None
    else:
        n, t = expected.shape[:2]
        reordered = expected.reshape(t, n, *expected.shape[2:]).swapaxes(0, 1)
    candidates = [] if reordered is None else [("", reordered)]
    if any(np.ndim(d) >= 2 and min(np.shape(d)[:2]) >= 2 for d in evidence.example.douts):
        upstream = evidence.reference_with("douts time-major", _time_major_douts).get(evidence.target)
        if upstream is not None:
            candidates.append((" (dout read in the other order)", upstream))
    for where, candidate in candidates:
        found = _if_holds(
            evidence,
            candidate,
            "batch_time_mixed",
            f"{evidence.target} is the right value with batch-major and time-major order mixed{where}:"
            " a reshape or transpose between (N, T) and (T, N)",
        )
        if found is not None:
            return found
    return None


def _time_major_douts(example: Example) -> Example:
    """Each upstream gradient's (N, T) rows read as if they were stored (T, N)."""
    reordered = []
    for dout in example.douts:
        if np.ndim(dout) >= 2 and min(np.shape(dout)[:2]) >= 2:
            dout = np.ascontiguousarray(np.swapaxes(dout, 0, 1)).reshape(np.shape(dout))
        reordered.append(dout)
    return example.with_douts(tuple(reordered))


def one_step_upstream_only(evidence: Evidence) -> Diagnosis | None:
    """An overwrite where an accumulation over time belongs: the result is what the upstream
    gradient of one time step alone gives (the first or the last step's, the one the loop wrote
    last), the other steps' contributions overwritten or dropped."""
    if not any(np.ndim(d) >= 3 and np.shape(d)[1] >= 2 for d in evidence.example.douts):
        return None
    for step, label in ((-1, "last"), (0, "first")):
        results = evidence.reference_with(f"douts at step {step} only", functools.partial(_one_step, step))
        found = _if_holds(
            evidence,
            results.get(evidence.target),
            "one_step_only",
            f"{evidence.target} is what the {label} time step's upstream gradient alone gives:"
            " the other steps' contributions are overwritten or dropped instead of added",
            step=label,
        )
        if found is not None:
            return found
    return None


def weights_of_one_step(evidence: Evidence) -> Diagnosis | None:
    """A weight gradient overwritten at each time step instead of summed over time
    (``grads[i][...] = grad`` in the loop where the book writes ``grads[i] += grad``): it holds
    the contribution of the step the loop visits last alone, the first step for a backward
    that runs from the last step to the first."""
    if evidence.per_step is None:
        return None
    contributions = evidence.per_step().get(evidence.target)
    if contributions is None or contributions.shape[0] < 2:
        return None
    for step, label in ((0, "first"), (contributions.shape[0] - 1, "last")):
        found = _if_holds(
            evidence,
            contributions[step],
            "weights_of_one_step",
            f"{evidence.target} is the {label} time step's contribution alone: the gradient is"
            " overwritten at each step instead of summed over time (= where += belongs)",
            step=label,
        )
        if found is not None:
            return found
    return None


def _one_step(step: int, example: Example) -> Example:
    """Every upstream gradient of shape (N, T, ...) zero except at time step ``step``."""
    kept = []
    for dout in example.douts:
        if np.ndim(dout) >= 3 and np.shape(dout)[1] >= 2:
            only = np.zeros_like(dout)
            only[:, step] = dout[:, step]
            dout = only
        kept.append(dout)
    return example.with_douts(tuple(kept))


def reduced_over_axis(evidence: Evidence) -> Diagnosis | None:
    """A reduction where none belongs, or over the wrong axis: the result equals the right value
    summed or averaged over one axis (keeping it, or broadcast back). A reduction that comes out
    the same everywhere (softmax weights summed to ones) is no evidence and is not reported."""
    expected = evidence.expected
    what = "value" if _is_output(evidence.target) else "gradient"
    for axis in range(expected.ndim):
        if expected.shape[axis] < 2:
            continue
        for how, reduce in (("summed", np.sum), ("averaged", np.mean)):
            reduced = reduce(expected, axis=axis, keepdims=True)
            if np.ptp(reduced) <= evidence.tolerance * max(float(np.max(np.abs(reduced))), 1.0):
                continue
            for candidate in (
                reduced,
                np.squeeze(reduced, axis=axis),
                np.broadcast_to(reduced, expected.shape),
            ):
                found = _if_holds(
                    evidence,
                    candidate,
                    f"{how}_over_axis",
                    f"{evidence.target} is the right {what} {how} over axis {axis}",
                    axis=axis,
                )
                if found is not None:
                    return found
    return None


def _is_output(target: str) -> bool:
    return target == "loss" or target.startswith("out")


CONSTANTS = {"−1": -1.0, "2": 2.0, "1/2": 0.5, "−2": -2.0, "−1/2": -0.5}


def _named_factors(dims: Mapping[str, Any], evidence: Evidence) -> dict[str, float]:
    """Names for the constants a missing or extra normalisation multiplies by: N, 1/N, T, 1/T,
    1/(N·T) from the example's sizes, n_valid/(N·T) where labels are ignored, and small constants."""
    sizes = {
        name: int(v)
        for name, v in dims.items()
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 1
    }
    for name, value in dims.items():
        if isinstance(value, tuple) and value:
            sizes |= {f"{name}[{i}]": int(v) for i, v in enumerate(value) if v > 1}
            if int(np.prod(value)) > 1:
                sizes[f"size({name})"] = int(np.prod(value))
    named = dict(CONSTANTS)
    for name, value in dims.items():
        if isinstance(value, float) and 0.0 < value < 1.0:  # a ratio, such as dropout's
            named |= {name: value, f"1−{name}": 1.0 - value, f"1/(1−{name})": 1.0 / (1.0 - value)}
    for name, value in sizes.items():
        named[name] = float(value)
        named[f"1/{name}"] = 1.0 / value
        named[f"1/({name}+1)"] = 1.0 / (value + 1)  # a mean over name + 1 terms (sample_size + 1 losses)
    for (a, va), (b, vb) in itertools.combinations(sizes.items(), 2):
        named[f"{a}·{b}"] = float(va * vb)
        named[f"1/({a}·{b})"] = 1.0 / (va * vb)
    ignored = evidence.ignored
    for name, value in dims.items():
        if isinstance(value, tuple) and len(value) > 1 and value[0] > 0 and int(np.prod(value)) > value[0]:
            # a mean over every element where the mean over the batch (axis 0) belongs, or back
            named[f"{name}[0]/size({name})"] = value[0] / float(np.prod(value))
            named[f"size({name})/{name}[0]"] = float(np.prod(value)) / value[0]
    if ignored is not None and ignored.any():
        total, valid = ignored.size, int((~ignored).sum())
        named["n_valid/(positions)"] = valid / total
        named["(positions)/n_valid"] = total / max(valid, 1)
    return named


def scaled(evidence: Evidence) -> Diagnosis | None:
    """A constant factor: a missing or extra 1/N (batch size), 1/T, 1/(N·T), a division by all
    positions where the count of non-ignored ones belongs, a factor 2, a flipped sign. A single
    value (a loss) counts only when k is one of these by name, to 1e-9."""
    expected, actual = evidence.expected.astype(np.float64), np.asarray(evidence.actual, dtype=np.float64)
    if expected.shape != actual.shape:
        return None
    norm = float(np.sum(expected * expected))
    if norm == 0.0:
        return None
    k = float(np.sum(actual * expected)) / norm
    if k == 0.0 or abs(k - 1.0) < 1e-9:
        return None
    holds, residual = evidence.holds(k * expected)
    if not holds:
        return None
    names = [
        name
        for name, value in _named_factors(evidence.dims, evidence).items()
        if abs(k - value) <= 1e-9 * max(1.0, abs(value))
    ]
    if np.count_nonzero(expected) < 2 and not names:
        return None  # one value (a loss) is a constant times any other: only a named k says anything
    sizes = {n: v for n, v in evidence.dims.items() if n != "case" and isinstance(v, (int, float, tuple))}
    text = scaled_text(evidence.target, k, names, evidence.dims)
    return _found("scaled", text, residual, k=k, named=names, dims=sizes, target=evidence.target)


def scaled_text(target: str, k: float, names: list[str], dims: Mapping[str, Any]) -> str:
    """``db is the right value times a constant, k = 0.25 = 1/N (N=4)``."""
    shown = f"k = {k:.6g}" + "".join(f" = {name}" for name in names if name != f"{k:.6g}")
    used = [n for n in dims if n != "case" and any(n in name for name in names)]
    sizes = ", ".join(f"{n}={_plain(dims[n])}" for n in used)
    return f"{target} is the right value times a constant, {shown}" + (f" ({sizes})" if sizes else "")


def _plain(value: Any) -> str:
    return str(tuple(value)) if isinstance(value, (list, tuple)) else str(value)


CATALOGUE: tuple[Entry, ...] = (
    rounded_to_float32,
    mask_redrawn,
    never_written,
    ignores_dout,
    transposed,
    parameter_transposed,
    other_gradient,
    first_upstream_only,
    except_duplicates,
    mask_forgotten,
    except_masked,
    only_last_step,
    except_one_step,
    one_step_upstream_only,
    weights_of_one_step,
    batch_and_time_mixed,
    not_repeated,
    upstream_reduced_wrongly,
    reduced_over_axis,
    normalised_over_wrong_axis,
    scaled,
)
"""Tried in order; the first that holds is reported. Tests that could both hold on one example
come specific first (an ignored dout of a loss is also a constant factor 1/dout)."""


def diagnose(evidence: Evidence) -> Diagnosis | None:
    """The likely cause of ``evidence``'s disagreement, or None when no entry's test holds."""
    same_shape = np.shape(evidence.actual) == np.shape(evidence.expected)
    if same_shape and compare(evidence.actual, evidence.expected, evidence.tolerance).passed:
        return None
    for entry in CATALOGUE:
        found = entry(evidence)
        if found is not None:
            return found
    return None
