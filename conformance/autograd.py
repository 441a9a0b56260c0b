"""Runs a row's PyTorch reference in float64: outputs, and gradients from ``torch.autograd``
driven by the example's own random upstream gradients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from conformance.spec import Array, Example, Row

# The reference works on tensors of at most a few thousand elements, where
# intra-op threads only add wake-up latency: on a 2-core machine a float64
# softmax with autograd took 16 ms with torch's default 2 threads and 0.1 ms
# with one. pytest-xdist parallelises across processes instead.
torch.set_num_threads(1)


@dataclass(frozen=True)
class Pass:
    """One forward and backward pass: outputs, input gradients and parameter gradients by name."""

    outputs: tuple[Array, ...]
    input_grads: dict[str, Array]
    param_grads: dict[str, Array]

    def gradient(self, target: str) -> Array:
        """The gradient named ``target`` (``"dx"``, ``"dW"`` ...)."""
        name = target[1:]
        return self.input_grads[name] if name in self.input_grads else self.param_grads[name]


def _to_torch(array: Array, differentiable: bool) -> torch.Tensor:
    if np.issubdtype(array.dtype, np.integer):
        return torch.from_numpy(np.array(array, dtype=np.int64))
    tensor = torch.from_numpy(np.array(array, dtype=np.float64))
    return tensor.requires_grad_(differentiable)


def reference_outputs(
    row: Row, inputs: dict[str, Array], params: dict[str, Array], dims: dict[str, Any]
) -> tuple[Array, ...]:
    """Forward only (no autograd graph): used to size the upstream gradients."""
    with torch.no_grad():
        t_inputs = {t.name: _to_torch(inputs[t.name], False) for t in row.inputs}
        t_params = {p.name: _to_torch(params[p.name], False) for p in row.params}
        out = row.reference(t_inputs, t_params, dims)
    return tuple(o.numpy() for o in (out if isinstance(out, tuple) else (out,)))


def reference_pass(row: Row, example: Example) -> Pass:
    """Outputs and every checked gradient of the reference on ``example`` (float64)."""
    differentiable = [t.name for t in row.differentiable_inputs]
    t_inputs = {t.name: _to_torch(example.inputs[t.name], t.name in differentiable) for t in row.inputs}
    t_params = {p.name: _to_torch(example.params[p.name], True) for p in row.params}
    out = row.reference(t_inputs, t_params, example.dims)
    outputs = out if isinstance(out, tuple) else (out,)
    wrt = [t_inputs[name] for name in differentiable] + list(t_params.values())
    grad_outputs = [torch.from_numpy(np.asarray(d, dtype=np.float64)) for d in example.douts]
    grads = torch.autograd.grad(outputs, wrt, grad_outputs=grad_outputs, allow_unused=True) if wrt else ()
    arrays = [
        np.zeros(tensor.shape) if grad is None else grad.numpy()
        for tensor, grad in zip(wrt, grads, strict=True)
    ]
    names = list(differentiable)
    return Pass(
        outputs=tuple(o.detach().numpy() for o in outputs),
        input_grads=dict(zip(names, arrays[: len(names)], strict=True)),
        param_grads=dict(zip(t_params, arrays[len(names) :], strict=True)),
    )
