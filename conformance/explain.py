"""Gathers the evidence for :mod:`conformance.diagnosis` on the failing cases' minimal examples,
and attaches a likely cause to each failing output or gradient measurement.

A shrunk example is small, and small arrays match transformations by
coincidence (any one number is a constant times any other; with N = D, 1/N
and 1/D are the same factor), or are too small for any entry to tell. So the
catalogue is applied to each failing case's minimal example and to copies of it
with every size grown to distinct values (the same case, square weights still
square, other values), and an entry is reported only when it explains every
failing example examined, at least two, in every failing case. Otherwise the
report says that no catalogued cause fits. Runs only for failing cases: a
passing run costs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from conformance import invoke
from conformance.autograd import per_step_parameter_gradients, reference_pass
from conformance.checks.float32 import rounded
from conformance.diagnosis import Diagnosis, Evidence, diagnose, scaled_text
from conformance.dims import grown_dims
from conformance.examples import materialize, size_of
from conformance.invoke import Unavailable
from conformance.measurement import Measurement
from conformance.numerics import Array, reference_tolerance
from conformance.spec import Example, ExampleSpec, Row

COMPARED = ("forward", "gradient", "finite_difference", "taylor", "float32", "stability")
"""The checks whose failures are a wrong output or gradient (contract, bad input and sampling
failures are about something else)."""

NO_CAUSE: dict[str, Any] = {
    "entry": None,
    "text": "no catalogued cause fits (nothing guessed)",
    "parameters": {},
    "residual": None,
}
"""The diagnosis of a failure no entry explains: said plainly, not guessed."""

SPECIAL_CASES = {"mask_forgotten": "mask_redrawn"}
"""Entries that are a special case of another: a mask drawn again in backward keeps every unit
now and then in a small example, which reads as a forgotten mask there."""

CONFIRMATION_SEEDS = 6
"""Larger examples tried, in turn, until two examples agree (a bug at duplicate indices shows in
about half the examples)."""


def explain(row: Row, cls: type, check: str, failures: list[tuple[Example, list[Measurement]]]) -> None:
    """Set ``diagnosis`` on each failing measurement of an output or gradient: the catalogue
    entry that explains every failing example examined for its target, in every failing case
    (each case's minimal example and larger copies of it), at least two of them; otherwise
    :data:`NO_CAUSE`. A cause that fits one case and not another is a coincidence of the first
    (two context words that happen to be equal make "only the first" look like "half")."""
    if check not in COMPARED:
        return
    # A NaN or an overflow is its own diagnosis, named in the measurement's detail.
    wanted = {
        m.target
        for _, failed in failures
        for m in failed
        if m.target != "-" and m.failed and not m.non_finite
    }
    if not wanted:
        return
    seen: dict[str, list[Diagnosis | None]] = {target: [] for target in wanted}
    for example, failed in failures:
        targets = {m.target for m in failed} & wanted
        found = _examine(row, cls, example, check, targets)
        for target in targets:
            seen[target] += found[target]
    for _, failed in failures:
        for measurement in failed:
            if measurement.target in wanted and not measurement.non_finite and seen[measurement.target]:
                # (none examined: the values agree, and the failure is of another kind, a dtype)
                agreed = _agreed(seen[measurement.target])
                measurement.diagnosis = agreed.to_json() if agreed is not None else dict(NO_CAUSE)


def _examine(
    row: Row, cls: type, example: Example, check: str, targets: set[str]
) -> dict[str, list[Diagnosis | None]]:
    """What the catalogue says of each target on the minimal example and larger copies of it,
    until two examples agree or one contradicts. Examples where the target agrees with the
    reference are left out (nothing to explain), and so are those too small for any entry to
    tell (fewer than two nonzero reference values) where no entry holds."""
    seen: dict[str, list[Diagnosis | None]] = {target: [] for target in targets}
    for candidate in _examples(row, example):
        evidence = _evidence(row, cls, candidate, check)
        for target in targets:
            if target not in evidence or evidence[target].agrees() or _settled(seen[target]):
                continue
            found = diagnose(evidence[target])
            if found is not None or np.count_nonzero(evidence[target].expected) >= 2:
                seen[target].append(found)
        if all(_settled(found) for found in seen.values()):
            break
    return seen


def _examples(row: Row, example: Example) -> Iterator[Example]:
    """The minimal example, then copies of it with every size one and two larger, other values."""
    yield example
    for offset in range(1, CONFIRMATION_SEEDS + 1):
        dims = grown_dims(row.dims, example.dims, example.case, by=1 + (offset - 1) % 2)
        yield materialize(row, ExampleSpec(dims, example.case, (example.spec.seed + offset) % 2**32))


def _settled(found: list[Diagnosis | None]) -> bool:
    """Two examples agree, or one is unexplained or explained otherwise (no cause then)."""
    named = [d for d in found if d is not None]
    return len(named) >= 2 or len(named) < len(found)


def _agreed(found: list[Diagnosis | None]) -> Diagnosis | None:
    """The one entry that explains every example examined, at least two; a constant factor
    keeps only the names (1/N, 1/T, ...) that fit it in every example, since on one small example
    several sizes can be equal."""
    if len(found) < 2 or any(d is None for d in found):
        return None
    named = [d for d in found if d is not None]
    entries = {d.entry for d in named}
    for special, general in SPECIAL_CASES.items():
        if entries == {special, general}:
            named = [d for d in named if d.entry == general] * 2  # the general one explains both
    first = named[0]
    if any(not _same(first, other) for other in named[1:]):
        return None
    if first.entry != "scaled":
        return first
    common = [
        n for n in first.parameters.get("named", []) if all(n in d.parameters.get("named", []) for d in named)
    ]
    if not common and any(d.parameters.get("named") for d in named):
        return None  # each example names its factor differently: no one size explains them
    dims = first.parameters.get("dims", {})
    text = scaled_text(first.parameters["target"], float(first.parameters["k"]), common, dims)
    return Diagnosis(first.entry, text, first.parameters | {"named": common}, first.residual)


def _same(first: Diagnosis, second: Diagnosis) -> bool:
    if first.entry != second.entry:
        return False
    if first.entry != "scaled":
        return True
    names = set(first.parameters.get("named", [])) & set(second.parameters.get("named", []))
    if first.parameters.get("named") or second.parameters.get("named"):
        return bool(names)
    k1, k2 = float(first.parameters["k"]), float(second.parameters["k"])
    return abs(k1 - k2) <= 1e-9 * max(1.0, abs(k1))


def _evidence(row: Row, cls: type, example: Example, check: str) -> dict[str, Evidence]:
    """Evidence for every output and gradient of ``example`` (none if the implementation cannot
    run it)."""
    dtype = np.float32 if check == "float32" else np.float64
    used = rounded(example) if check == "float32" else example
    try:
        actual = invoke.run(row, cls, used, dtype, need_output=False)
    except Exception:  # the implementation cannot run it: nothing to compare
        return {}
    observed = used.with_inputs(actual.observed)
    outputs, gradients = reference_pass(row, observed)
    names = _output_names(row, len(outputs))
    reference = dict(zip(names, outputs, strict=True)) | gradients
    implementation: dict[str, Array | Unavailable] = dict(zip(names, actual.outputs, strict=False))
    implementation.update(actual.gradients)
    tolerance = reference_tolerance(dtype, size_of(example)) * row.tolerance_factor
    reruns: dict[str, Mapping[str, Array]] = {}

    def rerun(key: str, change: Callable[[Example], Example]) -> Mapping[str, Array]:
        if key not in reruns:
            outputs, gradients = reference_pass(row, change(observed))
            reruns[key] = dict(zip(names, outputs, strict=True)) | gradients
        return reruns[key]

    def per_step() -> Mapping[str, Array]:
        if "per step" not in reruns:
            reruns["per step"] = per_step_parameter_gradients(row, observed)
        return reruns["per step"]

    found = {}
    for target, value in implementation.items():
        expected = reference.get(target)
        if expected is None or isinstance(value, Unavailable):
            continue
        found[target] = Evidence(
            target=target,
            actual=np.asarray(value),
            expected=np.asarray(expected),
            tolerance=tolerance,
            dtype=np.dtype(dtype).name,
            row=row,
            example=observed,
            reference=reference,
            rerun=rerun,
            per_step=per_step if row.step_reference is not None and "T" in observed.dims else None,
        )
    return found


def _output_names(row: Row, count: int) -> list[str]:
    if row.convention.scalar_output:
        return ["loss"]
    return ["out"] if count == 1 else [f"out{i}" for i in range(count)]
