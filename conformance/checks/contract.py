"""Check: the protocol contract of DESIGN.md §3, on one example in float64.

Each item is one target, and each protocol defect is reported here, once, naming
the attribute or argument (the numeric checks work around it, so that it never
hides a gradient):

- ``params_grads``: ``params`` and ``grads`` are parallel lists with matching
  shapes and dtypes (``no attribute params (found parmas)``, ``grads is an
  ndarray, expected a list of arrays``);
- ``params_given``: a layer built from its parameters keeps the arrays it was
  given (weights are shared by identity);
- ``grads_in_place``: backward writes into the same grads arrays (and keeps the params arrays);
- ``params_unchanged``: forward and backward leave parameter values alone;
- ``gradient_attributes``: a stateful layer leaves its state gradients (``dh``);
- ``no_mutation:<arg>``: no input, state or upstream gradient is modified (the
  detail says by which call and where);
- ``backward_draws_nothing``: a layer with random draws makes none in backward;
- ``deterministic``: a second layer built the same way gives the same results;
- ``second_call_replaces``: after forward/backward on other values, the layer gives
  what a fresh layer gives on those values (a stateful layer is given the same
  state, as the case says);
- ``results_kept``: arrays returned by the first call are not overwritten by the second;
- ``backward_overwrites``: a repeated backward gives the same gradients (written, not added).

Repeated results are compared within the float64 reference tolerance rather than
bit for bit: BLAS kernels may round differently for differently aligned copies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from conformance import invoke
from conformance.checks.context import Context
from conformance.invoke import ImplementationRaised, Instance, ProtocolViolation, Unavailable
from conformance.measurement import Measurement
from conformance.numerics import Array, compare
from conformance.spec import Example

NAME = "contract"
REGIMES = ("moderate", "zeros")


class _Call:
    """One forward + backward on a layer with the arrays handed over as they are, and
    what the contract needs kept aside."""

    def __init__(self, ctx: Context, instance: Instance, example: Example) -> None:
        row = ctx.row
        self.values = invoke.cast_values(row, example, np.float64)
        self.douts = invoke.cast_douts(row, example, np.float64)
        before = {k: v.copy() for k, v in self.values.items()}
        douts_before = [np.copy(d) for d in self.douts]
        self.outputs = invoke.forward(row, instance, self.values, copies=False, need_output=False)
        self.mutated = _mutations(before, self.values, "forward")
        after_forward = {k: v.copy() for k, v in self.values.items()}
        self.outputs_copy = [o.copy() for o in self.outputs]
        self.draws_before = _random_state(instance)
        gradients = invoke.backward(row, instance, self.douts, copies=False)
        self.draws_after = _random_state(instance)
        self.mutated |= {
            k: v
            for k, v in _mutations(after_forward, self.values, "backward").items()
            if k not in self.mutated
        }
        for i, (a, b) in enumerate(zip(douts_before, self.douts, strict=True)):
            if not np.array_equal(a, b):
                self.mutated[f"dout{i if len(self.douts) > 1 else ''}"] = "modified by backward" + _where(
                    a, b
                )
        self.input_grads = {k: v for k, v in gradients.items() if not isinstance(v, Unavailable)}
        self.unavailable = {k: v for k, v in gradients.items() if isinstance(v, Unavailable)}
        self.input_grads_copy = {k: v.copy() for k, v in self.input_grads.items()}
        self.param_grads = {
            k: v for k, v in invoke.param_grads(row, instance).items() if not isinstance(v, Unavailable)
        }

    def results(self) -> list[Array]:
        return [*self.outputs_copy, *self.input_grads_copy.values(), *self.param_grads.values()]


def _mutations(before: dict[str, Array], after: dict[str, Array], call: str) -> dict[str, str]:
    return {
        name: f"modified by {call}" + _where(before[name], after[name])
        for name in before
        if not np.array_equal(before[name], after[name], equal_nan=True)
    }


def _where(before: Any, after: Any) -> str:
    """`` at [0, 2] (0.5 -> 0)``: the first element that changed."""
    a, b = np.asarray(before), np.asarray(after)
    if a.shape != b.shape:
        return f" (shape {a.shape} -> {b.shape})"
    changed = np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else a == b))
    if not len(changed):
        return ""
    index = tuple(int(i) for i in changed[0])
    return f" at {list(index)} ({a[index]:.6g} -> {b[index]:.6g})"


def _random_state(instance: Instance) -> Any:
    if not instance.seeded:
        return None
    global_state = np.random.get_state(legacy=False)  # noqa: NPY002 - the book's layers draw from it
    own = instance.generator.bit_generator.state if instance.generator is not None else None
    return (global_state["state"]["pos"], global_state["state"]["key"].tobytes(), repr(own))


def run(ctx: Context) -> list[Measurement]:
    out: list[Measurement] = []

    def verdict(target: str, problem: str) -> None:
        out.append(ctx.measurement(NAME, target, "float64", "fail" if problem else "pass", detail=problem))

    try:
        _run(ctx, verdict)
    except (ImplementationRaised, ProtocolViolation) as error:
        out.append(ctx.raised(NAME, "float64", error))
    return out


def _run(ctx: Context, verdict: Callable[[str, str], None]) -> None:
    row, example = ctx.row, ctx.example

    def build() -> Instance:
        return invoke.construct(row, ctx.cls, example, np.float64)

    instance = build()
    layer = instance.layer
    problem = _parallel(row, instance)
    verdict("params_grads", problem)
    readable = not problem
    if readable and instance.passed:
        verdict("params_given", _given(instance))
    params_before = [np.array(p) for p in layer.params] if readable else []
    param_ids = [id(p) for p in layer.params] if readable else []
    grad_ids = [id(g) for g in layer.grads] if readable else []

    first = _Call(ctx, instance, example)
    if readable:
        verdict(
            "grads_in_place",
            _same_objects(layer.grads, grad_ids, "grads") or _same_objects(layer.params, param_ids, "params"),
        )
        changed = [
            p.name
            for p, a, b in zip(row.params, params_before, layer.params, strict=False)
            if not np.array_equal(a, b)
        ]
        verdict("params_unchanged", f"forward/backward changed {', '.join(changed)}" if changed else "")
    if row.state_gradients:
        missing = [u.reason for u in first.unavailable.values() if u.defect]
        verdict("gradient_attributes", "; ".join(missing))
    for tensor in row.inputs:
        if tensor.route in ("forward", "state"):
            found = first.mutated.get(tensor.name, "")
            verdict(f"no_mutation:{tensor.name}", f"{tensor.name} {found}" if found else "")
    douts = {k: v for k, v in first.mutated.items() if k.startswith("dout")}
    verdict("no_mutation:dout", "; ".join(f"{k} {v}" for k, v in douts.items()))
    if instance.seeded:
        redrawn = first.draws_before != first.draws_after
        verdict(
            "backward_draws_nothing",
            "backward drew random numbers (the mask must be the forward's)" if redrawn else "",
        )

    tolerance = ctx.tolerance(np.float64)
    verdict("deterministic", _agree(first.results(), _Call(ctx, build(), example).results(), tolerance))

    other = ctx.sibling_example()
    second = _Call(ctx, instance.rebind(other), other)
    fresh = _Call(ctx, invoke.construct(row, ctx.cls, other, np.float64), other)
    verdict("second_call_replaces", _agree(second.results(), fresh.results(), tolerance))
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
    again = invoke.backward(row, instance, second.douts)
    repeated = [v for v in again.values() if not isinstance(v, Unavailable)]
    repeated += [v for v in invoke.param_grads(row, instance).values() if not isinstance(v, Unavailable)]
    verdict(
        "backward_overwrites",
        _agree([*second.input_grads_copy.values(), *second.param_grads.values()], repeated, tolerance),
    )


def _parallel(row: Any, instance: Instance) -> str:
    layer, name = instance.layer, instance.name
    for attribute in ("params", "grads"):
        if not hasattr(layer, attribute):
            return f"no attribute {attribute}{invoke.near_miss_attribute(layer, attribute)}"
        value = getattr(layer, attribute)
        if not isinstance(value, list):
            return f"{name}.{attribute} is {invoke.describe(value)}, expected a list of arrays"
    params, grads = layer.params, layer.grads
    if len(params) != len(grads):
        return f"{len(params)} params and {len(grads)} grads; they must be parallel lists"
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if not isinstance(g, np.ndarray) or not isinstance(p, np.ndarray):
            return f"params[{i}] and grads[{i}] must be arrays"
        if p.shape != g.shape or p.dtype != g.dtype:
            return f"grads[{i}] is {g.dtype}{list(g.shape)} but params[{i}] is {p.dtype}{list(p.shape)}"
        if g is p or np.shares_memory(g, p):
            return f"grads[{i}] shares memory with params[{i}]"
    reading = invoke.read_params(row, layer)
    return reading.problem


def _given(instance: Instance) -> str:
    """A layer built from its parameters must keep (share) the arrays it was given."""
    params = instance.layer.params
    lost = [name for name, given in instance.passed.items() if not any(p is given for p in params)]
    if lost:
        return (
            f"params does not hold the {', '.join(lost)} passed to the constructor (a copy?); weights are"
            " shared by identity, so keep the arrays given"
        )
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
