"""What a row can say, each capability exercised: shared and transposed weights, a tolerance
factor with its reason, not-applicable declarations, state, randomness, per-dimension caps,
and a book-style module of the new layers checked through --impl."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import Phase, settings

import conformance.profiles  # noqa: F401  (registers the profiles)
import scratchnn
from conformance.autograd import per_step_parameter_gradients, reference_pass
from conformance.checks import CHECKS
from conformance.dims import Batch, Size
from conformance.engine import MemorySink, verify
from conformance.examples import typical_example
from conformance.implementation import Implementation
from conformance.references import time_layers as time_refs
from conformance.registry import ROWS_BY_NAME
from conformance.report import model
from conformance.report.markdown import render_markdown
from conformance.spec import Row, Tensor, Tolerance
from tests.harness.fixtures import book_time_layers
from tests.harness.reporting import learner, record_run

CI = settings(settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])
CORRECTNESS = ("forward", "gradient", "finite_difference", "taylor", "float32", "contract")


class TiedTwice:
    """y = x W + tanh(x) W with one W listed twice in params, a gradient entry for each use
    (as the book's CBOW lists its shared W_in once per context Embedding)."""

    def __init__(self, W: Any) -> None:
        self.params = [W, W]
        self.grads = [np.zeros_like(W), np.zeros_like(W)]
        self.x: Any = None

    def forward(self, x: Any) -> Any:
        W = self.params[0]
        self.x = x.copy()
        return x @ W + np.tanh(x) @ W

    def backward(self, dout: Any) -> Any:
        W = self.params[0]
        t = np.tanh(self.x)
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = t.T @ dout
        return dout @ W.T + (dout @ W.T) * (1 - t * t)


class TiedTransposed:
    """y = x W + x W^T with params [W, W.T]: a transposed view, as BetterRnnlm ties its
    embedding to its output weights; the tied gradient is grads[0] + grads[1].T."""

    def __init__(self, W: Any) -> None:
        self.params = [W, W.T]
        self.grads = [np.zeros_like(W), np.zeros_like(W.T)]
        self.x: Any = None

    def forward(self, x: Any) -> Any:
        self.x = x.copy()
        return x @ self.params[0] + x @ self.params[1]

    def backward(self, dout: Any) -> Any:
        self.grads[0][...] = self.x.T @ dout
        self.grads[1][...] = self.x.T @ dout
        return dout @ self.params[0].T + dout @ self.params[1].T


class TiedTransposedWrongly(TiedTransposed):
    """Gives the transposed occurrence the gradient of W instead of W.T: wrong for non-symmetric W
    only, so the harness must add grads[1].T, not grads[1]."""

    def backward(self, dout: Any) -> Any:
        result = super().backward(dout)
        self.grads[1][...] = (self.x.T @ dout).T
        return result


def _tied_twice(inputs: dict[str, torch.Tensor], params: dict[str, torch.Tensor], dims: Any) -> torch.Tensor:
    x, W = inputs["x"], params["W"]
    return x @ W + torch.tanh(x) @ W


def _tied_transposed(
    inputs: dict[str, torch.Tensor], params: dict[str, torch.Tensor], dims: Any
) -> torch.Tensor:
    x, W = inputs["x"], params["W"]
    return x @ W + x @ W.T


SQUARE = {"N": Batch(), "D": Size()}
TIED_TWICE = Row(
    name="TiedTwice",
    group="tests",
    dims=SQUARE,
    inputs=(Tensor("x", ("N", "D")),),
    reference=_tied_twice,
    params=(Tensor("W", ("D", "D")),),
)
TIED_TRANSPOSED = Row(
    name="TiedTransposed",
    group="tests",
    dims=SQUARE,
    inputs=(Tensor("x", ("N", "D")),),
    reference=_tied_transposed,
    params=(Tensor("W", ("D", "D")),),
)


@pytest.mark.parametrize("check", CORRECTNESS)
@pytest.mark.parametrize(("row", "cls"), [(TIED_TWICE, TiedTwice), (TIED_TRANSPOSED, TiedTransposed)])
def test_a_shared_buffer_gets_the_sum_of_its_gradients(row: Row, cls: type, check: str) -> None:
    outcome = verify(row, check, learner(**{row.name: cls}), MemorySink(), CI)
    assert outcome.status == "pass", outcome.describe()


def test_a_transposed_occurrence_must_hold_the_transposed_gradient() -> None:
    outcome = verify(
        TIED_TRANSPOSED, "gradient", learner(TiedTransposed=TiedTransposedWrongly), MemorySink(), CI
    )
    assert outcome.status == "fail", outcome.describe()
    assert {m.target for m in outcome.failing} == {"dW"}


def test_a_tolerance_factor_is_applied_and_its_reason_reported(tmp_path: Any) -> None:
    loose = Row(
        name="Affine",
        group="scratchnn.layers",
        dims=ROWS_BY_NAME["Affine"].dims,
        inputs=ROWS_BY_NAME["Affine"].inputs,
        reference=ROWS_BY_NAME["Affine"].reference,
        params=ROWS_BY_NAME["Affine"].params,
        tolerance=Tolerance(4.0, "a test of the mechanism"),
    )
    plain, scaled = MemorySink(), MemorySink()
    verify(ROWS_BY_NAME["Affine"], "gradient", Implementation((scratchnn,)), plain, CI)
    verify(loose, "gradient", Implementation((scratchnn,)), scaled, CI)
    ratios = {b.tolerance / a.tolerance for a, b in zip(plain.measurements, scaled.measurements, strict=True)}
    assert ratios == {4.0}
    assert loose.declarations()["tolerance"] == {"factor": 4.0, "reason": "a test of the mechanism"}


def test_not_applicable_declarations_are_reported_with_their_reasons(tmp_path: Any) -> None:
    document = model.build(record_run(tmp_path, Implementation((scratchnn,)), [("Embedding", "bad_input")]))
    embedding = next(r for r in document["rows"] if r["layer"] == "Embedding")
    assert "bad_input:idx:extra_axis" in embedding["not_applicable"]
    skipped = [t for t in embedding["checks"]["bad_input"]["targets"] if t["target"] == "idx:extra_axis"]
    assert skipped[0]["status"] == "skipped"
    assert (
        "bad_input idx:extra_axis: not applicable, because indices of any shape are valid"
        in render_markdown(document)
    )


def test_both_time_rnn_references_agree_in_outputs_and_gradients() -> None:
    row = ROWS_BY_NAME["TimeRNN"]
    op_level = Row(**{**row.__dict__, "reference": time_refs.time_rnn_ops})
    for case in row.cases():
        example = typical_example(row, case, seed=3)
        outputs, gradients = reference_pass(row, example)
        outputs_ops, gradients_ops = reference_pass(op_level, example)
        np.testing.assert_allclose(outputs[0], outputs_ops[0], rtol=0, atol=1e-13)
        for target in row.gradient_targets():
            np.testing.assert_allclose(gradients[target], gradients_ops[target], rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ["TimeRNN", "TimeLSTM", "TimeGRU"])
def test_the_per_step_split_of_a_weight_gradient_sums_to_the_reference(name: str) -> None:
    """The step references (one set of weights per step) are the same computation as the
    references, and the steps' contributions add up to the weight gradients."""
    row = ROWS_BY_NAME[name]
    assert row.step_reference is not None
    for case in row.cases():
        example = typical_example(row, case, seed=3)
        outputs, gradients = reference_pass(row, example)
        steps = example.dims["T"]
        stepwise = Row(
            **{**row.__dict__, "reference": lambda i, p, d, n=steps: row.step_reference(i, [p] * n, d)}
        )
        np.testing.assert_allclose(reference_pass(stepwise, example)[0][0], outputs[0], rtol=0, atol=1e-13)
        split = per_step_parameter_gradients(row, example)
        assert set(split) == {f"d{p.name}" for p in row.params}
        for target, contributions in split.items():
            assert contributions.shape == (steps, *gradients[target].shape)
            np.testing.assert_allclose(contributions.sum(axis=0), gradients[target], rtol=0, atol=1e-12)
            if steps > 1:  # each step's share differs from the whole: the split says something
                assert not np.allclose(contributions[0], gradients[target])


def test_time_steps_and_state_sizes_have_their_own_caps() -> None:
    sink = MemorySink()
    verify(ROWS_BY_NAME["TimeRNN"], "forward", Implementation((scratchnn,)), sink, CI)
    dims = [m.example["dims"] for m in sink.measurements if m.example]
    assert max(d["T"] for d in dims) <= 4
    assert max(d["H"] for d in dims) <= 5
    assert max(d["D"] for d in dims) > 5, "features keep the general cap"
    cases = {case.case for case in sink.cases}
    assert cases == {
        f"N{n} · {state} · {regime}"
        for n in (">1", "=1")
        for state in ("zero state", "set_state", "carried state")
        for regime in ("moderate", "zeros")
    }


def test_the_carried_state_case_leaves_out_the_perturbation_checks_with_the_reason() -> None:
    outcome = verify(
        ROWS_BY_NAME["TimeRNN"], "finite_difference", Implementation((scratchnn,)), MemorySink(), CI
    )
    carried = [case for case in outcome.cases if "carried" in case.case]
    assert carried
    assert all(case.status == "skipped" and "truncated" in case.message for case in carried)
    assert outcome.status == "pass"


BOOK = learner(
    Embedding=book_time_layers.Embedding,
    Dropout=book_time_layers.Dropout,
    RNN=book_time_layers.RNN,
    TimeRNN=book_time_layers.TimeRNN,
)


@pytest.mark.parametrize("check", CORRECTNESS)
def test_the_books_embedding_and_rnn_are_right(check: str) -> None:
    for row in ("Embedding", "RNN"):
        outcome = verify(ROWS_BY_NAME[row], check, BOOK, MemorySink(), CI)
        assert outcome.status == "pass", outcome.describe()


def test_the_books_dropout_is_right_in_training_and_stale_in_test_mode() -> None:
    outcome = verify(ROWS_BY_NAME["Dropout"], "gradient", BOOK, MemorySink(), CI)
    by_case = {case.case: case for case in outcome.cases}
    assert all(case.status == "pass" for text, case in by_case.items() if "train" in text)
    tests = [case for text, case in by_case.items() if "test" in text]
    assert tests
    assert all(case.status == "error" and "NoneType" in case.cause for case in tests)
    keep = verify(ROWS_BY_NAME["Dropout"], "sampling", BOOK, MemorySink(), CI)
    assert keep.status == "pass", keep.describe()


def test_the_books_time_rnn_computes_in_float32_buffers() -> None:
    outcome = verify(ROWS_BY_NAME["TimeRNN"], "forward", BOOK, MemorySink(), CI)
    assert outcome.status == "fail"
    worst = outcome.failing[0]
    assert worst.max_rel_err is not None
    assert 1e-9 < worst.max_rel_err < 1e-5, "float32 rounding, not a wrong formula"


@pytest.mark.parametrize("check", list(CHECKS))
def test_scratchnn_passes_every_check_of_the_new_rows(check: str) -> None:
    for row in ("Embedding", "Dropout", "RNN", "TimeRNN"):
        outcome = verify(ROWS_BY_NAME[row], check, Implementation((scratchnn,)), MemorySink(), CI)
        assert outcome.status in ("pass", "skipped"), outcome.describe()
