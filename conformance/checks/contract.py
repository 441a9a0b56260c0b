"""Check 6: the protocol contract of DESIGN.md §3, on one example in float64.

- ``params_grads``: params and grads are parallel lists with matching shapes and dtypes;
- ``grads_in_place``: backward writes into the same grads arrays (and keeps the params arrays);
- ``params_unchanged``: forward and backward leave parameter values alone;
- ``no_mutation:<arg>``: no input and no upstream gradient is modified;
- ``deterministic``: a second layer built the same way gives the same results;
- ``second_call_replaces``: after forward/backward on other values, the layer gives what a
  fresh layer gives on those values;
- ``results_kept``: arrays returned by the first call are not overwritten by the second;
- ``backward_overwrites``: a repeated backward gives the same gradients (written, not added).

Repeated results are compared within the float64 reference tolerance rather than
bit for bit: BLAS kernels may round differently for differently aligned copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.invoke import ImplementationRaised, ProtocolViolation
from conformance.measurement import Measurement
from conformance.numerics import compare
from conformance.spec import Array, Example

NAME = "contract"


class _Call:
    """One forward + backward on a layer, with what the contract needs kept aside."""

    def __init__(self, ctx: Context, layer: Any, example: Example) -> None:
        row = ctx.row
        self.args = invoke.cast_inputs(example, row, np.float64)
        self.douts = invoke.cast_douts(example, row, np.float64)
        self.args_before = [a.copy() for a in self.args]
        self.douts_before = [np.copy(d) for d in self.douts]
        self.outputs = invoke.forward(row, layer, self.args)
        self.outputs_copy = [o.copy() for o in self.outputs]
        self.input_grads = invoke.backward(row, layer, self.douts)
        self.input_grads_copy = {k: v.copy() for k, v in self.input_grads.items()}
        self.param_grads = invoke.param_grads(row, layer)

    def results(self) -> list[Array]:
        return [*self.outputs_copy, *self.input_grads_copy.values(), *self.param_grads.values()]


def run(ctx: Context) -> list[Measurement]:
    try:
        return _run(ctx)
    except (ImplementationRaised, ProtocolViolation) as error:
        return [ctx.raised(NAME, "float64", error)]


def _run(ctx: Context) -> list[Measurement]:
    row, example = ctx.row, ctx.example
    out: list[Measurement] = []

    def verdict(target: str, problem: str) -> None:
        out.append(ctx.measurement(NAME, target, "float64", "fail" if problem else "pass", detail=problem))

    def build() -> Any:
        return invoke.construct(row, ctx.cls, example, invoke.cast_params(example, row, np.float64))

    layer = build()
    verdict("params_grads", _parallel(layer, len(row.params)))
    if out[-1].failed:
        return out  # nothing else can be checked without parallel params and grads
    params_before = [np.array(p) for p in layer.params]
    param_ids, grad_ids = [id(p) for p in layer.params], [id(g) for g in layer.grads]

    first = _Call(ctx, layer, example)
    verdict(
        "grads_in_place",
        _same_objects(layer.grads, grad_ids, "grads") or _same_objects(layer.params, param_ids, "params"),
    )
    changed = [
        p.name
        for p, a, b in zip(row.params, params_before, layer.params, strict=True)
        if not np.array_equal(a, b)
    ]
    verdict("params_unchanged", f"forward/backward changed {', '.join(changed)}" if changed else "")
    for tensor, before, after in zip(row.inputs, first.args_before, first.args, strict=True):
        verdict(
            f"no_mutation:{tensor.name}",
            "" if np.array_equal(before, after) else f"{tensor.name} was modified",
        )
    mutated = [
        i
        for i, (a, b) in enumerate(zip(first.douts_before, first.douts, strict=True))
        if not np.array_equal(a, b)
    ]
    verdict("no_mutation:dout", f"dout {mutated} modified by backward" if mutated else "")

    tolerance = ctx.tolerance(np.float64)
    verdict("deterministic", _agree(first.results(), _Call(ctx, build(), example).results(), tolerance))

    other = ctx.sibling_example()
    second = _Call(ctx, layer, other)
    verdict("second_call_replaces", _agree(second.results(), _Call(ctx, build(), other).results(), tolerance))
    kept = [
        f"out{i}"
        for i, (o, c) in enumerate(zip(first.outputs, first.outputs_copy, strict=True))
        if not np.array_equal(o, c)
    ]
    kept += [
        f"d{k}" for k, v in first.input_grads.items() if not np.array_equal(v, first.input_grads_copy[k])
    ]
    verdict(
        "results_kept",
        f"{', '.join(kept)} returned by the first call overwritten by the second" if kept else "",
    )

    again = invoke.backward(row, layer, second.douts)
    repeated = [*again.values(), *invoke.param_grads(row, layer).values()]
    verdict(
        "backward_overwrites",
        _agree([*second.input_grads_copy.values(), *second.param_grads.values()], repeated, tolerance),
    )
    return out


def _parallel(layer: Any, expected: int) -> str:
    params, grads = getattr(layer, "params", None), getattr(layer, "grads", None)
    if not isinstance(params, list) or not isinstance(grads, list):
        return f"params and grads must be lists; got {type(params).__name__} and {type(grads).__name__}"
    if len(params) != expected or len(grads) != expected:
        return f"{len(params)} params and {len(grads)} grads; expected {expected} of each"
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if not isinstance(g, np.ndarray) or not isinstance(p, np.ndarray):
            return f"params[{i}] and grads[{i}] must be arrays"
        if p.shape != g.shape or p.dtype != g.dtype:
            return f"grads[{i}] is {g.dtype}{list(g.shape)} but params[{i}] is {p.dtype}{list(p.shape)}"
    return ""


def _same_objects(current: Sequence[Any], ids: list[int], what: str) -> str:
    moved = [i for i, (obj, before) in enumerate(zip(current, ids, strict=False)) if id(obj) != before]
    if len(current) != len(ids) or moved:
        return f"{what}{moved} rebound to new arrays; write them in place ({what}[i][...] = value)"
    return ""


def _agree(first: list[Array], second: list[Array], tolerance: float) -> str:
    if len(first) != len(second):
        return f"{len(first)} results, then {len(second)}"
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        comparison = compare(b, a, tolerance)
        if not comparison.passed:
            where = (
                comparison.problem
                or f"rel err {comparison.max_rel_err:.2e} at {list(comparison.worst_index or [])}"
            )
            return f"result {i} differs: {where}"
    return ""
