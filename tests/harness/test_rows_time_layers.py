"""The rows of chapters 5 and 6 (LSTM, GRU, the time-distributed layers and losses, TimeDropout,
TimeBiLSTM, and the three language models): their references, the cases they draw, what they
declare, and what a run says of the book's own common/time_layers.py."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import Phase, settings

import conformance.profiles  # noqa: F401  (registers the profiles)
import scratchnn
from conformance.autograd import reference_pass
from conformance.checks import CHECKS
from conformance.checks.context import observe
from conformance.engine import MemorySink, Outcome, verify
from conformance.examples import typical_example
from conformance.implementation import Implementation
from conformance.malformations import derived
from conformance.references import time_layers as ref
from conformance.registry import ROWS_BY_NAME
from conformance.spec import Example, Row
from tests.harness.fixtures import book_time_layers

CI = settings(settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])
SMOKE = settings(CI, max_examples=10)
"""At least two examples per case (see engine.examples_per_case): the full ci run is
``python -m conformance run``; here every check of every new row runs once more, quickly."""

CORRECTNESS = ("forward", "gradient", "finite_difference", "taylor", "float32", "contract")

NEW_ROWS = (
    "LSTM",
    "TimeLSTM",
    "GRU",
    "TimeGRU",
    "TimeEmbedding",
    "TimeAffine",
    "TimeSoftmaxWithLoss",
    "TimeSigmoidWithLoss",
    "TimeDropout",
    "TimeBiLSTM",
    "SimpleRnnlm",
    "Rnnlm",
    "BetterRnnlm",
)

Tensors = dict[str, torch.Tensor]


# --- references: the mapped torch modules against the book's formulas written out ------------


def _lstm_step_ops(
    x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, Wx: torch.Tensor, Wh: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The book's LSTM step (section 6.3), blocks (f, g, i, o), from torch operations."""
    H = Wh.shape[0]
    A = x @ Wx + h @ Wh + b
    f, g = torch.sigmoid(A[:, :H]), torch.tanh(A[:, H : 2 * H])
    i, o = torch.sigmoid(A[:, 2 * H : 3 * H]), torch.sigmoid(A[:, 3 * H :])
    c = f * c + g * i
    return o * torch.tanh(c), c


def _time_lstm_ops(
    xs: torch.Tensor, h: torch.Tensor, c: torch.Tensor, *weights: torch.Tensor
) -> torch.Tensor:
    steps = []
    for t in range(xs.shape[1]):
        h, c = _lstm_step_ops(xs[:, t], h, c, *weights)
        steps.append(h)
    return torch.stack(steps, dim=1)


def lstm_ops(inputs: Tensors, params: Tensors, dims: Any) -> tuple[torch.Tensor, torch.Tensor]:
    return _lstm_step_ops(
        inputs["x"], inputs["h_prev"], inputs["c_prev"], params["Wx"], params["Wh"], params["b"]
    )


def time_lstm_ops(inputs: Tensors, params: Tensors, dims: Any) -> torch.Tensor:
    return _time_lstm_ops(inputs["xs"], inputs["h"], inputs["c"], params["Wx"], params["Wh"], params["b"])


def time_bilstm_ops(inputs: Tensors, params: Tensors, dims: Any) -> torch.Tensor:
    xs = inputs["xs"]
    zeros = torch.zeros(xs.shape[0], params["Wh1"].shape[0], dtype=xs.dtype)
    first = _time_lstm_ops(xs, zeros, zeros, params["Wx1"], params["Wh1"], params["b1"])
    second = _time_lstm_ops(xs.flip(1), zeros, zeros, params["Wx2"], params["Wh2"], params["b2"])
    return torch.cat((first, second.flip(1)), dim=2)


def _agree(row: Row, other: Row, example: Example) -> None:
    outputs, gradients = reference_pass(row, example)
    outputs_ops, gradients_ops = reference_pass(other, example)
    for a, b in zip(outputs, outputs_ops, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    for target in row.gradient_targets():
        np.testing.assert_allclose(gradients[target], gradients_ops[target], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "op_level"), [("LSTM", lstm_ops), ("TimeLSTM", time_lstm_ops), ("TimeBiLSTM", time_bilstm_ops)]
)
def test_the_mapped_torch_lstm_references_agree_with_the_books_formulas(name: str, op_level: Any) -> None:
    """torch.nn.LSTMCell / LSTM (and bidirectional) with the gate blocks permuted to (i, f, g, o),
    the weights transposed and the second bias zero compute the book's LSTM: outputs and every
    gradient, in every case (zero, set and carried state, T = 1 and T > 1)."""
    row = ROWS_BY_NAME[name]
    other = Row(**{**row.__dict__, "reference": op_level})
    for case in row.cases():
        for seed in (1, 2):
            _agree(row, other, typical_example(row, case, seed=seed))


def test_the_gate_permutation_moves_the_books_blocks_to_torchs_places() -> None:
    # the book's columns for H = 2: f = 0, 1; g = 2, 3; i = 4, 5; o = 6, 7; torch's rows: i, f, g, o
    assert ref.book_to_torch_gates(2).tolist() == [4, 5, 0, 1, 2, 3, 6, 7]


def test_the_gru_reference_is_the_books_update_and_not_torchs() -> None:
    """With z = 1 the book's GRU returns its candidate h~, torch's returns h_prev: the
    reference follows the book (blocks z, r, h~; z weights the candidate)."""
    D, H = 2, 3
    x, h = torch.randn(4, D, dtype=torch.float64), torch.randn(4, H, dtype=torch.float64)
    Wx, Wh = torch.zeros(D, 3 * H, dtype=torch.float64), torch.zeros(H, 3 * H, dtype=torch.float64)
    b = torch.zeros(3 * H, dtype=torch.float64)
    b[:H] = 50.0  # z = sigmoid(50) = 1 to float64 precision
    Wh[:, 2 * H :] = torch.eye(H, dtype=torch.float64)  # h~ = tanh((r * h) Whh) with r = 1/2
    out = ref.gru({"x": x, "h_prev": h}, {"Wx": Wx, "Wh": Wh, "b": b}, {})
    torch.testing.assert_close(out, torch.tanh(0.5 * h), rtol=0, atol=1e-15)


def test_better_rnnlm_reference_sums_both_uses_of_the_tied_weight() -> None:
    """The reference's gradient of embed_W is the embedding's plus the output layer's (the
    transposed use): the sum the harness forms from grads[0] and the transposed grads entry."""
    row = ROWS_BY_NAME["BetterRnnlm"]
    example = typical_example(row, seed=4)
    _, gradients = reference_pass(row, example)
    dims = example.dims
    model = scratchnn.BetterRnnlm(dims["V"], dims["D"], dims["H"], dropout_ratio=0.5)
    for p, name in zip(model._unique_params(), row.param_names, strict=True):
        p[...] = example.params[name]
    model.reset_state()
    model.forward(example.inputs["xs"], example.inputs["ts"], train_flg=False)
    model.backward(float(example.douts[0]))
    tied = model.grads[0] + model.grads[-2].T
    assert np.shares_memory(model.params[0], model.params[-2])
    np.testing.assert_allclose(tied, gradients["dembed_W"], rtol=0, atol=1e-12)
    assert np.abs(model.grads[0]).max() > 0, "the embedding's use contributes"
    assert np.abs(model.grads[-2]).max() > 0, "the output layer's use contributes"


# --- what the rows draw and declare -------------------------------------------------------------


def _drawn(name: str, check: str = "forward") -> tuple[Outcome, list[dict[str, Any]]]:
    sink = MemorySink()
    outcome = verify(ROWS_BY_NAME[name], check, Implementation((scratchnn,)), sink, CI)
    return outcome, [m.example for m in sink.measurements if m.example]


def test_recurrent_rows_stay_within_the_time_and_hidden_caps_and_draw_d_and_h_apart() -> None:
    for name in ("TimeLSTM", "TimeGRU", "TimeBiLSTM"):
        outcome, examples = _drawn(name)
        assert outcome.status == "pass", outcome.describe()
        dims = [e["dims"] for e in examples]
        assert max(d["T"] for d in dims) <= 4
        assert max(d["H"] for d in dims) <= 5
        assert any(d["D"] != d["H"] for d in dims)
        assert any(d["T"] == 1 for d in dims)
        assert any(d["N"] == 1 for d in dims), "a batch of one"


def test_time_lstm_has_a_case_per_state_and_per_number_of_steps() -> None:
    texts = {case.text for case in ROWS_BY_NAME["TimeLSTM"].cases()}
    assert texts == {
        f"N{n} · {state} · {regime} · T{t}"
        for n in (">1", "=1")
        for state in ("zero state", "set_state", "carried state")
        for regime in ("moderate", "zeros")
        for t in (">1", "=1")
    }


def test_time_softmax_labels_ignore_some_positions_never_all() -> None:
    row = ROWS_BY_NAME["TimeSoftmaxWithLoss"]
    seen_ignored = False
    for case in row.cases():
        for seed in range(20):
            ts = typical_example(row, case, seed=seed).inputs["ts"]
            if ts.dtype.kind == "f":  # one-hot: every row a distribution, none ignored
                np.testing.assert_array_equal(ts.sum(axis=-1), 1.0)
                continue
            assert (ts != -1).any()
            seen_ignored |= bool((ts == -1).any())
    assert seen_ignored
    targets = {m.target for m in derived(row)}
    assert {"ts:negative_index", "ts:below_ignore_label", "ts:all_ignored"} <= targets
    assert "ignore_label" in row.not_applicable["bad_input:ts:negative_index"]


def test_the_time_dropout_reference_gets_the_keep_pattern_of_the_scaled_mask() -> None:
    """TimeDropout keeps mask = keep / (1 - ratio); the harness hands the reference keep (0/1)."""
    row = ROWS_BY_NAME["TimeDropout"]
    outcome = verify(row, "forward", Implementation((scratchnn,)), MemorySink(), CI)
    assert outcome.status == "pass", outcome.describe()
    case = next(c for c in row.cases() if c["mode"] == "train")
    example = typical_example(row, case, seed=5).with_dims(ratio=0.1)
    observed = observe(row, scratchnn.TimeDropout, example).inputs["mask"]
    assert set(np.unique(observed)) <= {0.0, 1.0}
    assert observed.any()


def test_better_rnnlm_is_checked_in_test_mode_and_says_why() -> None:
    row = ROWS_BY_NAME["BetterRnnlm"]
    assert {case.text for case in row.cases()} == {"N>1 · test", "N=1 · test"}
    assert "train_flg=False" in row.not_applicable["sampling"]
    assert "float32" not in row.not_applicable, "the model takes dtype=: float32 is checked"


# --- scratchnn passes every check of the new rows ------------------------------------------------


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("name", NEW_ROWS)
def test_scratchnn_passes_every_check_of_the_chapter_5_6_rows(name: str, check: str) -> None:
    outcome = verify(ROWS_BY_NAME[name], check, Implementation((scratchnn,)), MemorySink(), SMOKE)
    assert outcome.status in ("pass", "skipped"), outcome.describe()


# --- what a run says of the book's common/time_layers.py ----------------------------------------

BOOK = Implementation((book_time_layers,))


def _book(name: str, check: str) -> Outcome:
    return verify(ROWS_BY_NAME[name], check, BOOK, MemorySink(), CI)


@pytest.mark.parametrize("check", CORRECTNESS)
def test_the_books_lstm_gru_and_time_affine_are_right(check: str) -> None:
    for name in ("LSTM", "GRU", "TimeAffine"):
        outcome = _book(name, check)
        assert outcome.status == "pass", outcome.describe()


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_the_books_sigmoid_overflows_at_extreme_gate_inputs(name: str) -> None:
    outcome = _book(name, "stability")
    assert outcome.status == "fail"
    assert all("overflow encountered in exp" in case.cause for case in outcome.cases)


@pytest.mark.parametrize("name", ["TimeLSTM", "TimeGRU", "TimeBiLSTM", "TimeEmbedding"])
def test_the_books_time_layers_compute_in_float32_buffers(name: str) -> None:
    """hs = np.empty(..., dtype='f'): right formulas, float64 inputs rounded to float32."""
    outcome = _book(name, "forward")
    assert outcome.status == "fail"
    assert all(case.status == "fail" for case in outcome.cases)
    worst = max(m.max_rel_err for m in outcome.failing if m.max_rel_err is not None)
    assert 1e-10 < worst < 1e-5, "float32 rounding, not a wrong formula"
    assert _book(name, "float32").status == "pass", "in float32 the same code is right"


def test_the_books_time_lstm_has_no_dc_which_is_not_applicable_rather_than_a_failure() -> None:
    sink = MemorySink()
    outcome = verify(ROWS_BY_NAME["TimeLSTM"], "float32", BOOK, sink, CI)
    assert outcome.status == "pass", outcome.describe()
    dc = [m for m in sink.measurements if m.target == "dc"]
    assert dc
    assert all(m.status == "skipped" for m in dc)
    assert "does not expose" in dc[0].detail
    dh = [m for m in sink.measurements if m.target == "dh"]
    assert dh
    assert all(m.status == "pass" for m in dh), "its dh is read and right"


def test_the_books_time_softmax_loss_is_right_once_and_reuses_its_softmax_buffer() -> None:
    for check in ("forward", "gradient", "finite_difference"):
        assert _book("TimeSoftmaxWithLoss", check).status == "pass"
    contract = _book("TimeSoftmaxWithLoss", "contract")
    assert contract.status == "fail"
    assert {m.target for m in contract.failing} == {"backward_overwrites"}, "dx = ys, then ys -= ..."
    float32 = _book("TimeSoftmaxWithLoss", "float32")
    assert float32.status == "fail"
    assert all("dtype float64" in m.detail for m in float32.failing if m.target == "loss"), (
        "a float32 sum divided by mask.sum(), an int64: NumPy promotes the loss to float64"
    )
    stability = _book("TimeSoftmaxWithLoss", "stability")
    assert stability.status == "fail"
    assert any("divide by zero encountered in log" in case.cause for case in stability.cases)


def test_the_books_time_sigmoid_loss_is_biased_by_its_log_epsilon() -> None:
    outcome = _book("TimeSigmoidWithLoss", "forward")
    assert outcome.status == "fail"
    worst = max(m.max_rel_err for m in outcome.failing if m.max_rel_err is not None)
    assert 1e-8 < worst < 1e-6, "log(y + 1e-7)"


def test_the_books_time_dropout_is_right_to_float32_rounding_in_training_and_stale_in_test_mode() -> None:
    """The book keeps mask = flg.astype(np.float32) * scale: exact for ratio 0.5 (scale 2),
    off by float32 rounding of 1 / (1 - ratio) for 0.1 and 0.8; test mode returns xs."""
    forward = _book("TimeDropout", "forward")
    assert forward.status == "fail"
    assert all(case.status == "pass" for case in forward.cases if "test" in case.case)
    assert all("train" in m.case for m in forward.failing)
    assert all(m.example["dims"]["ratio"] != 0.5 for m in forward.failing)
    assert max(m.max_rel_err for m in forward.failing if m.max_rel_err is not None) < 1e-6
    gradient = _book("TimeDropout", "gradient")
    tests = [case for case in gradient.cases if "test" in case.case]
    assert tests
    assert all(case.status == "error" and "NoneType" in case.cause for case in tests), "dout * None"
    assert _book("TimeDropout", "sampling").status == "pass"


@pytest.mark.parametrize("name", ["TimeLSTM", "TimeAffine", "TimeSoftmaxWithLoss", "TimeDropout"])
def test_the_books_time_layers_check_no_input(name: str) -> None:
    outcome = _book(name, "bad_input")
    assert outcome.status == "fail"
    assert any(m.target.endswith("integer_dtype") for m in outcome.failing)
