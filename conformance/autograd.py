"""Runs a row's PyTorch reference in float64: outputs, and gradients from ``torch.autograd``
driven by the example's own random upstream gradients."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from conformance.numerics import Array
from conformance.spec import Example, Row

# The reference works on tensors of at most a few thousand elements, where
# intra-op threads only add wake-up latency: on a 2-core machine a float64
# softmax with autograd took 16 ms with torch's default 2 threads and 0.1 ms
# with one. pytest-xdist parallelises across processes instead.
torch.set_num_threads(1)

Tensors = dict[str, torch.Tensor]


def context(example: Example) -> dict[str, Any]:
    """What a reference reads besides tensors: the drawn dims, and the case under ``"case"``."""
    return {**example.dims, "case": example.case}


def _tensors(row: Row, example: Example, with_grad: bool) -> tuple[Tensors, Tensors]:
    inputs = {
        t.name: t.kind.to_torch(example.inputs[t.name], with_grad and t.differentiable) for t in row.inputs
    }
    params = {
        p.name: torch.from_numpy(np.array(example.params[p.name], dtype=np.float64)).requires_grad_(with_grad)
        for p in row.params
    }
    return inputs, params


def _as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)


def reference_outputs(row: Row, example: Example) -> tuple[Array, ...]:
    """Forward only (no autograd graph): used to size the upstream gradients."""
    with torch.no_grad():
        inputs, params = _tensors(row, example, with_grad=False)
        return tuple(o.numpy() for o in _as_tuple(row.reference(inputs, params, context(example))))


def reference_final_state(row: Row, example: Example) -> dict[str, Array]:
    """The state a stateful row's first call (the prelude inputs) ends in, by state name."""
    state = row.convention.state
    assert state is not None, f"{row.name} has no state"
    with torch.no_grad():
        inputs, params = _tensors(row, example, with_grad=False)
        first = {name: inputs[state.prelude.get(name, name)] for name in inputs}
        final = state.final(first, params, context(example))
        return {name: final[name].numpy().copy() for name in state.names}


def per_step_parameter_gradients(row: Row, example: Example) -> dict[str, Array]:
    """Each parameter gradient of a recurrent row split by time step, by target name: an array
    (T, *shape) whose sum over its first axis is the reference's gradient. The row's
    ``step_reference`` gets its own leaf tensors at every step; autograd gives each its share."""
    assert row.step_reference is not None, f"{row.name} has no step_reference"
    inputs, _ = _tensors(row, example, with_grad=False)
    steps = int(example.dims["T"])
    by_step = [
        {p.name: torch.from_numpy(np.array(example.params[p.name], dtype=np.float64)).requires_grad_(True)
         for p in row.params}
        for _ in range(steps)
    ]  # fmt: skip
    outputs = _as_tuple(row.step_reference(inputs, by_step, context(example)))
    names = [p.name for p in row.params]
    leaves = [step[name] for step in by_step for name in names]
    grad_outputs = [torch.from_numpy(np.asarray(d, dtype=np.float64)) for d in example.douts]
    grads = torch.autograd.grad(outputs, leaves, grad_outputs=grad_outputs, allow_unused=True)
    return {
        f"d{name}": np.stack(
            [
                np.zeros(tuple(leaf.shape)) if grad is None else grad.numpy()
                for leaf, grad in zip(leaves[i :: len(names)], grads[i :: len(names)], strict=True)
            ]
        )
        for i, name in enumerate(names)
    }


def reference_pass(row: Row, example: Example) -> tuple[tuple[Array, ...], dict[str, Array]]:
    """Outputs and every checked gradient (by target name) of the reference on ``example``."""
    inputs, params = _tensors(row, example, with_grad=True)
    outputs = _as_tuple(row.reference(inputs, params, context(example)))
    targets = row.gradient_targets()
    wrt = [inputs[t[1:]] if t[1:] in inputs else params[t[1:]] for t in targets]
    grad_outputs = [torch.from_numpy(np.asarray(d, dtype=np.float64)) for d in example.douts]
    grads = torch.autograd.grad(outputs, wrt, grad_outputs=grad_outputs, allow_unused=True) if wrt else ()
    arrays = {
        target: np.zeros(tuple(tensor.shape)) if grad is None else grad.numpy()
        for target, tensor, grad in zip(targets, wrt, grads, strict=True)
    }
    return tuple(o.detach().numpy() for o in outputs), arrays
