"""The rows of chapters 7 and 8 (attention layers, seq2seq models): their references checked
against independent formulations, what a run says of the book's own code, and the two
harness capabilities the model rows brought (a model's weights made in the checked dtype,
or the float64 checks not applicable to a model that makes float32 weights)."""

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
from conformance.engine import MemorySink, verify
from conformance.examples import typical_example
from conformance.implementation import Implementation
from conformance.references import attention as attention_refs
from conformance.references import seq2seq as seq2seq_refs
from conformance.registry import ROWS_BY_NAME
from conformance.spec import Row
from tests.harness.fixtures import book_seq2seq
from tests.harness.reporting import learner

CI = settings(settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])
CORRECTNESS = ("forward", "gradient", "finite_difference", "taylor", "float32", "contract")
ATTENTION = ("WeightSum", "AttentionWeight", "Attention", "TimeAttention")
COMPONENTS = ("Encoder", "Decoder", "PeekyDecoder", "AttentionEncoder", "AttentionDecoder")
MODELS = ("Seq2seq", "PeekySeq2seq", "AttentionSeq2seq")
FLOAT64_CHECKS = ("forward", "gradient", "finite_difference", "taylor", "contract", "stability", "bad_input")


# --- the references ---------------------------------------------------------------------------


def test_time_attention_from_primitives_agrees_with_torchs_kernel_at_scale_one() -> None:
    row = ROWS_BY_NAME["TimeAttention"]
    kernel = Row(**{**row.__dict__, "reference": attention_refs.time_attention_sdpa})
    for case in row.cases():
        example = typical_example(row, case, seed=5)
        outputs, gradients = reference_pass(row, example)
        outputs_kernel, gradients_kernel = reference_pass(kernel, example)
        np.testing.assert_allclose(outputs[0], outputs_kernel[0], rtol=0, atol=1e-13)
        for target in row.gradient_targets():
            np.testing.assert_allclose(gradients[target], gradients_kernel[target], rtol=0, atol=1e-13)


def test_torchs_default_scale_is_not_the_books_attention() -> None:
    """Why the references set the scale: PyTorch's default 1/sqrt(H) gives other contexts."""
    rng = np.random.default_rng(0)
    hs_enc, hs_dec = (torch.from_numpy(rng.standard_normal((2, n, 4))) for n in (3, 2))
    book = attention_refs.time_attention({"hs_enc": hs_enc, "hs_dec": hs_dec}, {}, {})
    default = torch.nn.functional.scaled_dot_product_attention(hs_dec, hs_enc, hs_enc)
    assert not torch.allclose(book, default)


@pytest.mark.parametrize(("D", "H", "T"), [(3, 4, 5), (1, 1, 1), (6, 2, 3)])
def test_the_lstm_weight_mapping_reproduces_the_books_lstm(D: int, H: int, T: int) -> None:
    """torch.nn.LSTM with the book's (f, g, i, o) columns permuted and transposed computes the
    book's LSTM step by step: outputs and the gradient of every weight and of the start state."""
    rng = np.random.default_rng(D * 100 + H * 10 + T)
    shapes = {"xs": (2, T, D), "h0": (2, H), "Wx": (D, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,)}
    arrays = {k: torch.from_numpy(rng.standard_normal(s)).requires_grad_(True) for k, s in shapes.items()}
    dout = torch.from_numpy(rng.standard_normal((2, T, H)))
    mapped = seq2seq_refs.time_lstm(*arrays.values())
    stepped = seq2seq_refs.book_time_lstm(*arrays.values())
    torch.testing.assert_close(mapped, stepped, rtol=0, atol=1e-13)
    for a, b in zip(
        torch.autograd.grad(mapped, list(arrays.values()), dout),
        torch.autograd.grad(stepped, list(arrays.values()), dout),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)


def test_a_model_references_every_weight_of_its_encoder() -> None:
    """The encoder reaches the loss only through the decoder: its gradients are not all zero."""
    for name in MODELS:
        row = ROWS_BY_NAME[name]
        example = typical_example(row, seed=1)
        _, gradients = reference_pass(row, example)
        for target in row.gradient_targets():
            assert np.any(gradients[target] != 0), (name, target)


# --- the book's own code -------------------------------------------------------------------------

BOOK = learner(**{name: getattr(book_seq2seq, name) for name in (*ATTENTION, *COMPONENTS, *MODELS)})


@pytest.mark.parametrize("check", [*CORRECTNESS, "stability"])
@pytest.mark.parametrize("row", ["Attention", "TimeAttention"])
def test_the_books_attention_layers_are_right(row: str, check: str) -> None:
    outcome = verify(ROWS_BY_NAME[row], check, BOOK, MemorySink(), CI)
    assert outcome.status == "pass", outcome.describe()


def test_the_books_attention_layers_check_no_input() -> None:
    outcome = verify(ROWS_BY_NAME["WeightSum"], "bad_input", BOOK, MemorySink(), CI)
    assert outcome.status == "fail"
    details = {m.target: m.detail for m in outcome.failing}
    # a dc of the wrong rank broadcasts into a wrong answer instead of an error
    assert details["dc:extra_axis"].startswith("accepted silently")
    assert "without naming WeightSum and hs" in details["hs:extra_axis"]


FLOAT64_RUNS = [
    (row, check)
    for row in (*COMPONENTS, *MODELS)
    for check in FLOAT64_CHECKS
    if not ROWS_BY_NAME[row].skip_reason(check) and not CHECKS[check].applies(ROWS_BY_NAME[row])
]  # (stability does not apply where every input is an id: no real value to take to extremes)


@pytest.mark.parametrize(("row", "check"), FLOAT64_RUNS, ids=[f"{r}-{c}" for r, c in FLOAT64_RUNS])
def test_the_books_models_make_float32_weights_so_float64_checks_do_not_apply(row: str, check: str) -> None:
    outcome = verify(ROWS_BY_NAME[row], check, BOOK, MemorySink(), CI)
    assert outcome.status == "skipped"
    assert outcome.message == f"not applicable: {row}'s constructor makes float32 weights and takes no dtype="


@pytest.mark.parametrize("row", ["Encoder", "Decoder", "AttentionDecoder"])
def test_the_books_encoders_and_decoders_are_right_in_float32(row: str) -> None:
    outcome = verify(ROWS_BY_NAME[row], "float32", BOOK, MemorySink(), CI)
    assert outcome.status == "pass", outcome.describe()


@pytest.mark.parametrize("row", list(MODELS))
def test_the_books_models_return_a_float64_loss_from_float32_weights(row: str) -> None:
    """Every gradient agrees; the loss itself comes back as float64: TimeSoftmaxWithLoss divides
    the float32 sum by mask.sum(), an int64 scalar, and NumPy 2 promotes float32 / int64 to float64."""
    outcome = verify(ROWS_BY_NAME[row], "float32", BOOK, MemorySink(), CI)
    assert outcome.status == "fail"
    assert {m.target for m in outcome.failing} == {"loss"}
    assert all(m.detail == "dtype float64, expected float32 (dtype in = dtype out)" for m in outcome.failing)


# --- what the model rows needed of the harness -------------------------------------------------


def test_a_model_that_takes_dtype_is_built_in_the_checked_dtype() -> None:
    outcome = verify(ROWS_BY_NAME["Encoder"], "float32", Implementation((scratchnn,)), MemorySink(), CI)
    assert outcome.status == "pass", outcome.describe()


def test_taylor_stops_at_the_first_direction_that_shows_the_square_law() -> None:
    sink = MemorySink()
    verify(ROWS_BY_NAME["TimeAttention"], "taylor", Implementation((scratchnn,)), sink, CI)
    slopes = [m.detail.split(";")[0] for m in sink.measurements if m.status == "pass"]
    assert slopes
    assert all("," not in s for s in slopes), slopes[:3]  # one slope: one direction tried


def test_taylor_tries_every_direction_before_failing() -> None:
    from tests.harness.broken.seq2seq import AttentionDropsWeightPath

    sink = MemorySink()
    verify(ROWS_BY_NAME["Attention"], "taylor", learner(Attention=AttentionDropsWeightPath), sink, CI)
    failed: list[Any] = [m for m in sink.measurements if m.status == "fail" and m.target == "dhs"]
    assert failed
    assert all(m.detail.startswith("slopes ") and m.detail.split(";")[0].count(",") == 2 for m in failed)
