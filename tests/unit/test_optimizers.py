"""Optimizers: first steps by hand from each docstring, convergence on a quadratic, state by identity."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from scratchnn.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop

# f(w) = 0.5 * sum(a * (w - c)^2), minimised at w = c, gradient a * (w - c).
A = np.array([1.0, 2.0, 0.5])
C = np.array([1.0, -2.0, 3.0])


def quadratic_grad(w: np.ndarray) -> np.ndarray:
    return A.astype(w.dtype) * (w - C.astype(w.dtype))


def minimise(optimizer, w0: np.ndarray, steps: int) -> np.ndarray:
    w = w0.copy()
    grad = np.zeros_like(w)
    for _ in range(steps):
        grad[...] = quadratic_grad(w)
        optimizer.update([w], [grad])
    return w


CONVERGING = [
    (lambda: SGD(lr=0.2), 300),
    (lambda: Momentum(lr=0.05, momentum=0.9), 300),
    (lambda: Nesterov(lr=0.05, momentum=0.9), 300),
    (lambda: AdaGrad(lr=1.0), 300),
    (lambda: RMSprop(lr=0.05), 300),
    (lambda: Adam(lr=0.05), 1000),
]
NAMES = ["SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]


@pytest.mark.parametrize(("make", "steps"), CONVERGING, ids=NAMES)
def test_each_optimizer_minimises_a_quadratic(make, steps):
    w = minimise(make(), np.zeros(3), steps)
    np.testing.assert_allclose(w, C, atol=1e-4)


# --- the first two steps, from the formulas in each docstring ---

W0 = np.array([1.0, -1.0, 0.5])
G0 = np.array([0.5, -2.0, 4.0])
G1 = np.array([1.0, 1.0, -3.0])


def two_steps(optimizer):
    w = W0.copy()
    optimizer.update([w], [G0.copy()])
    first = w.copy()
    optimizer.update([w], [G1.copy()])
    return first, w


def test_sgd_steps():
    lr = 0.1
    first, second = two_steps(SGD(lr=lr))
    np.testing.assert_allclose(first, W0 - lr * G0, rtol=1e-15)
    np.testing.assert_allclose(second, W0 - lr * G0 - lr * G1, rtol=1e-15)


def test_momentum_steps():
    lr, mu = 0.1, 0.5
    first, second = two_steps(Momentum(lr=lr, momentum=mu))
    v1 = -lr * G0
    w1 = W0 + v1
    v2 = mu * v1 - lr * G1
    np.testing.assert_allclose(first, w1, rtol=1e-15)
    np.testing.assert_allclose(second, w1 + v2, rtol=1e-15)


def test_nesterov_steps():
    lr, mu = 0.1, 0.5
    first, second = two_steps(Nesterov(lr=lr, momentum=mu))
    # W <- W + mu^2 v - (1 + mu) lr g, with the velocity before this step's update; v starts at 0
    w1 = W0 - (1 + mu) * lr * G0
    v1 = -lr * G0
    w2 = w1 + mu * mu * v1 - (1 + mu) * lr * G1
    np.testing.assert_allclose(first, w1, rtol=1e-15)
    np.testing.assert_allclose(second, w2, rtol=1e-15)


def test_adagrad_steps():
    lr, eps = 0.1, 1e-3
    first, second = two_steps(AdaGrad(lr=lr, eps=eps))
    h1 = G0**2
    w1 = W0 - lr * G0 / (np.sqrt(h1) + eps)  # = W0 - lr * G0 / (|G0| + eps)
    h2 = h1 + G1**2
    np.testing.assert_allclose(first, W0 - lr * G0 / (np.abs(G0) + eps), rtol=1e-14)
    np.testing.assert_allclose(second, w1 - lr * G1 / (np.sqrt(h2) + eps), rtol=1e-14)


def test_rmsprop_steps():
    lr, rho, eps = 0.1, 0.5, 1e-3
    first, second = two_steps(RMSprop(lr=lr, decay_rate=rho, eps=eps))
    h1 = (1 - rho) * G0**2
    w1 = W0 - lr * G0 / (np.sqrt(h1) + eps)
    h2 = rho * h1 + (1 - rho) * G1**2
    np.testing.assert_allclose(first, w1, rtol=1e-14)
    np.testing.assert_allclose(second, w1 - lr * G1 / (np.sqrt(h2) + eps), rtol=1e-14)


def test_adam_steps():
    lr, b1, b2, eps = 0.1, 0.5, 0.75, 1e-3
    first, second = two_steps(Adam(lr=lr, beta1=b1, beta2=b2, eps=eps))
    # t = 1: the bias-corrected moments are g and g^2 themselves
    w1 = W0 - lr * G0 / (np.abs(G0) + eps)
    m2 = b1 * (1 - b1) * G0 + (1 - b1) * G1
    v2 = b2 * (1 - b2) * G0**2 + (1 - b2) * G1**2
    w2 = w1 - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)
    np.testing.assert_allclose(first, w1, rtol=1e-14)
    np.testing.assert_allclose(second, w2, rtol=1e-14)


# --- Nesterov is the look-ahead method after the change of variable W = theta + mu v ---


def test_nesterov_tracks_the_look_ahead_point_of_the_classic_form():
    """Classic form: v <- mu v - lr grad(theta + mu v); theta <- theta + v.

    With phi = theta + mu v: phi' = theta + v' + mu v' = phi - mu v + (1 + mu) v'
    = phi + mu^2 v - (1 + mu) lr grad(phi), the docstring's update of W, with the
    same v. Starting from v = 0, phi_0 = theta_0, so W_t = theta_t + mu v_t.
    """
    lr, mu = 0.05, 0.9
    optimizer = Nesterov(lr=lr, momentum=mu)
    W = np.zeros(3)
    theta, v = np.zeros(3), np.zeros(3)
    for _ in range(40):
        optimizer.update([W], [quadratic_grad(W)])
        v = mu * v - lr * quadratic_grad(theta + mu * v)
        theta = theta + v
        np.testing.assert_allclose(W, theta + mu * v, rtol=1e-12, atol=1e-14)
    for _ in range(300):
        optimizer.update([W], [quadratic_grad(W)])
        v = mu * v - lr * quadratic_grad(theta + mu * v)
        theta = theta + v
    np.testing.assert_allclose(W, C, atol=1e-6)
    np.testing.assert_allclose(theta, C, atol=1e-6)


# --- state belongs to the parameter array, not to its position in the list ---

ALL = [
    lambda: SGD(lr=0.1),
    lambda: Momentum(lr=0.1, momentum=0.5),
    lambda: Nesterov(lr=0.1, momentum=0.5),
    lambda: AdaGrad(lr=0.1),
    lambda: RMSprop(lr=0.1, decay_rate=0.5),
    lambda: Adam(lr=0.1, beta1=0.5, beta2=0.75),
]


@pytest.mark.parametrize("make", ALL, ids=NAMES)
def test_state_follows_the_array_when_the_list_is_reordered(make):
    straight, shuffled = make(), make()
    p, q = np.zeros(3), np.full(3, 5.0)
    p2, q2 = p.copy(), q.copy()
    for step in range(6):
        straight.update([p, q], [quadratic_grad(p), 3 * quadratic_grad(q)])
        if step % 2:
            shuffled.update([q2, p2], [3 * quadratic_grad(q2), quadratic_grad(p2)])
        else:
            shuffled.update([p2, q2], [quadratic_grad(p2), 3 * quadratic_grad(q2)])
    np.testing.assert_array_equal(p2, p)
    np.testing.assert_array_equal(q2, q)


@pytest.mark.parametrize("make", ALL, ids=NAMES)
def test_a_new_array_starts_with_fresh_state(make):
    fresh_first_step = W0.copy()
    make().update([fresh_first_step], [G0.copy()])

    optimizer = make()
    old = W0.copy()
    for _ in range(3):
        optimizer.update([old], [G1.copy()])
    new = W0.copy()
    optimizer.update([old, new], [G1.copy(), G0.copy()])
    np.testing.assert_array_equal(new, fresh_first_step)


@pytest.mark.parametrize("make", ALL, ids=NAMES)
def test_an_array_that_reuses_a_dead_arrays_id_starts_with_fresh_state(make):
    fresh_first_step = W0.copy()
    make().update([fresh_first_step], [G0.copy()])

    optimizer = make()
    old = W0.copy()
    for _ in range(3):
        optimizer.update([old], [G1.copy()])
    old_id = id(old)
    del old
    gc.collect()
    # CPython usually hands the dead array's memory, hence its id(), to one of the next arrays
    candidates = [W0.copy() for _ in range(50)]
    reborn = next((c for c in candidates if id(c) == old_id), candidates[0])
    optimizer.update([reborn], [G0.copy()])
    np.testing.assert_array_equal(reborn, fresh_first_step)


@pytest.mark.parametrize("make", ALL, ids=NAMES)
def test_update_is_in_place_keeps_float32_and_leaves_grads_alone(make):
    optimizer, reference = make(), make()
    param = W0.astype(np.float32)
    grads = [G0.astype(np.float32), G1.astype(np.float32), G0.astype(np.float32)]
    param64 = W0.copy()
    for grad in grads:
        before = grad.copy()
        optimizer.update([param], [grad])
        reference.update([param64], [grad.astype(np.float64)])
        np.testing.assert_array_equal(grad, before)
    assert param.dtype == np.float32
    np.testing.assert_allclose(param, param64, rtol=1e-5, atol=1e-6)
    assert not np.allclose(param, W0)
