"""Every optimizer takes the same steps as its torch.optim counterpart.

Each pair is driven by the same sequence of random gradients for 25 steps, in
float64; the parameters must agree after every step. The mappings follow the
formulas in scratchnn.optimizers' docstrings: Momentum's v = -lr * b of
torch's buffer b; Nesterov's Bengio et al. form is torch's nesterov=True;
Adam is Algorithm 1 of Kingma and Ba, as torch implements it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from scratchnn.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, Optimizer, RMSprop

STEPS = 25
# Both sides compute the same few float64 operations per step; 25 steps of
# rounding stay within a few hundred ulps of the parameter scale (O(1)).
RTOL = 1e-12

PAIRS: dict[str, tuple[Callable[[], Optimizer], Callable[[list[torch.Tensor]], Any]]] = {
    "SGD": (lambda: SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "Momentum": (lambda: Momentum(lr=0.1, momentum=0.8), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8)),
    "Nesterov": (
        lambda: Nesterov(lr=0.1, momentum=0.8),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True),
    ),
    "AdaGrad": (lambda: AdaGrad(lr=0.1, eps=1e-7), lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-7)),
    "RMSprop": (
        lambda: RMSprop(lr=0.01, decay_rate=0.9, eps=1e-7),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7),
    ),
    "Adam": (
        lambda: Adam(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-7),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95), eps=1e-7),
    ),
}


@pytest.mark.parametrize("name", PAIRS)
def test_trajectory_matches_torch_optim(name: str) -> None:
    make_ours, make_theirs = PAIRS[name]
    rng = np.random.default_rng(3)
    params = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    tensors = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    ours, theirs = make_ours(), make_theirs(tensors)
    for step in range(STEPS):
        grads = [rng.standard_normal(p.shape) for p in params]
        ours.update(params, grads)
        for tensor, grad in zip(tensors, grads, strict=True):
            tensor.grad = torch.from_numpy(grad.copy())
        theirs.step()
        for mine, reference in zip(params, tensors, strict=True):
            np.testing.assert_allclose(
                mine, reference.detach().numpy(), rtol=RTOL, atol=RTOL, err_msg=f"step {step}"
            )
