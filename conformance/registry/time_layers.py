"""Rows of ``scratchnn.time_layers``: the recurrent layers of chapters 5 and 6.

Time steps and state sizes have their own caps (``time``, ``hidden``: T <= 4 and
H <= 5 under ``ci``). A stateful layer is checked from a zero state (built with
``stateful=False``), from a state given by ``set_state`` (whose gradient the
book keeps as ``dh``), and from the state a first call carried over.

TimeLSTM and TimeBiLSTM have a case axis of their own for the number of steps (T = 1 or
T > 1, see :class:`Steps`): a gradient not carried from one step back to the previous one
(TimeLSTM's dc) or not reversed in time (TimeBiLSTM's second LSTM) is right for T = 1 and
wrong for every longer sequence, and the report says which. The other sequence rows draw T
from 1 up to the cap like TimeRNN (TimeGRU's 24 cases with the axis would cost twice its
examples).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance.cases import Axis, Case
from conformance.conventions import LOSS, Arg, Constructor, Convention, Mode, SeededDraws, State
from conformance.dims import Batch, Choice, Classes, Dims, DimsSpec, Draw, Size, Square
from conformance.kinds import BinaryLabels, ClassLabels, Indices, Observed
from conformance.malformations import Malformation, grow_last_axis, input_resized, param_resized
from conformance.references import time_layers as ref
from conformance.sampling import KeepRate
from conformance.settings import cap
from conformance.spec import Example, Row, Tensor

GROUP = "scratchnn.time_layers"

STEP: DimsSpec = {"N": Batch(), "D": Size(), "H": Size("hidden")}
SEQUENCE: DimsSpec = {"N": Batch(), "T": Size("time"), "D": Size(), "H": Size("hidden")}

RNN_PARAMS = (Tensor("Wx", ("D", "H")), Tensor("Wh", ("H", "H")), Tensor("b", ("H",)))


def _state_resized(name: str) -> Malformation:
    """A state of the wrong size handed to set_state (in the case that calls it)."""
    return Malformation(
        name,
        "size",
        lambda ex: ex.with_input(name, grow_last_axis(ex.value(name))),
        applies=lambda ex: ex.case.get("state") == "set",
    )


def _stateful(
    names: tuple[str, ...],
    gradients: dict[str, str],
    final: Callable[..., dict[str, Any]],
    optional: frozenset[str] = frozenset(),
) -> Convention:
    """The book's ``TimeX(Wx, Wh, b, stateful=False)`` with ``set_state(*names)``."""
    prelude = {"xs": "xs_first", **{n: f"{n}_first" for n in names}}
    return Convention(
        constructor=Constructor(args=(Arg("Wx"), Arg("Wh"), Arg("b"))),
        state=State(names=names, gradients=gradients, prelude=prelude, final=final, optional=optional),
        douts=("dhs",),
    )


def _sequence_inputs(*state: str) -> tuple[Tensor, ...]:
    """xs, the state the checked call starts from, and the first call's inputs (used by the
    carried-state case only)."""
    return (
        Tensor("xs", ("N", "T", "D")),
        *(Tensor(name, ("N", "H"), route="state") for name in state),
        Tensor("xs_first", ("N", "T", "D"), route="hidden"),
        *(Tensor(f"{name}_first", ("N", "H"), route="hidden") for name in state),
    )


@dataclass(frozen=True)
class Steps:
    """A number of time steps: the case axis ``steps`` (T = 1, or T > 1 up to the ``time`` cap).

    A recurrence whose gradient is not carried from step t + 1 back to step t (through h or
    c) is right for T = 1 and wrong for every longer sequence: the two get their own verdicts.
    """

    def axes(self, name: str) -> list[Axis]:
        values: tuple[str, ...] = ("many", "one") if cap("time") >= 2 else ("one",)
        return [Axis("steps", values, {"many": f"{name}>1", "one": f"{name}=1"})]

    def draw(self, name: str, draw: Draw, dims: Dims, case: Case) -> Any:
        if case.get("steps", "many") == "one":
            return 1
        return int(draw(st.sampled_from(range(2, max(2, cap("time")) + 1)), name))

    def typical(self, dims: Dims, case: Case) -> Any:
        return 1 if case.get("steps", "many") == "one" else max(2, min(3, cap("time")))


RECURRENCE: DimsSpec = {"N": Batch(), "T": Steps(), "D": Size(), "H": Size("hidden")}
"""TimeLSTM and TimeBiLSTM: D and H drawn independently, T = 1 and T > 1 as cases."""


def _gates(k: int, suffix: str = "") -> tuple[Tensor, ...]:
    """Wx (D, kH), Wh (H, kH), b (kH,): the book's layout, k gate blocks side by side in the
    columns (LSTM: f, g, i, o; GRU: z, r, h~)."""
    return (
        Tensor(f"Wx{suffix}", lambda d: (d["D"], k * d["H"])),
        Tensor(f"Wh{suffix}", lambda d: (d["H"], k * d["H"])),
        Tensor(f"b{suffix}", lambda d: (k * d["H"],)),
    )


def _dout_resized(index: int, name: str) -> Malformation:
    """backward's upstream gradient number ``index`` (named ``name``) one element too long."""

    def make(example: Example) -> Example:
        douts = list(example.douts)
        douts[index] = grow_last_axis(douts[index])
        return example.with_douts(tuple(douts))

    return Malformation(name, "size", make, stage="backward")


def _all_ignored(name: str) -> Malformation:
    """Index labels that are all ignore_label (-1): the mean over no position is undefined."""
    return Malformation(
        name,
        "all_ignored",
        lambda ex: ex.with_input(name, np.full_like(ex.value(name), -1)),
        applies=lambda ex: ex.value(name).dtype.kind == "i",
    )


def _missing_axis(name: str) -> Malformation:
    """Integer ids with one axis fewer than the (N, T) the layer takes."""
    return Malformation(name, "missing_axis", lambda ex: ex.with_input(name, ex.value(name)[0]))


IGNORE_LABEL_IS_VALID = (
    "-1 is the book's ignore_label: a position labelled -1 is left out of the loss, not an error"
    " (below_ignore_label, -2, is checked instead)"
)

ANY_SHAPE_DROPOUT = "the book's TimeDropout multiplies xs by a mask of xs's own shape: any shape is valid"

ROWS: tuple[Row, ...] = (
    Row(
        name="RNN",
        group=GROUP,
        dims=STEP,
        inputs=(Tensor("x", ("N", "D")), Tensor("h_prev", ("N", "H"))),
        reference=ref.rnn,
        params=RNN_PARAMS,
        convention=Convention(douts=("dh_next",)),
        malformed=(input_resized("x"), input_resized("h_prev"), param_resized("b")),
    ),
    Row(
        name="TimeRNN",
        group=GROUP,
        dims=SEQUENCE,
        inputs=_sequence_inputs("h"),
        reference=ref.time_rnn,
        step_reference=ref.time_rnn_steps,
        params=RNN_PARAMS,
        convention=_stateful(("h",), {"h": "dh"}, ref.time_rnn_state),
        malformed=(input_resized("xs"), _state_resized("h"), param_resized("b")),
    ),
    # section 6.3: the LSTM cell and its time version, gate blocks (f, g, i, o)
    Row(
        name="LSTM",
        group=GROUP,
        dims=STEP,
        inputs=(Tensor("x", ("N", "D")), Tensor("h_prev", ("N", "H")), Tensor("c_prev", ("N", "H"))),
        reference=ref.lstm,
        params=_gates(4),
        convention=Convention(douts=("dh_next", "dc_next")),
        malformed=(
            input_resized("x"),
            input_resized("h_prev"),
            input_resized("c_prev"),
            param_resized("b"),
            _dout_resized(1, "dc_next"),
        ),
    ),
    Row(
        name="TimeLSTM",
        group=GROUP,
        dims=RECURRENCE,
        inputs=_sequence_inputs("h", "c"),
        reference=ref.time_lstm,
        step_reference=ref.time_lstm_steps,
        params=_gates(4),
        # The book's TimeLSTM keeps dh only: a class without dc is "not applicable" there.
        convention=_stateful(
            ("h", "c"), {"h": "dh", "c": "dc"}, ref.time_lstm_state, optional=frozenset({"dc"})
        ),
        malformed=(input_resized("xs"), _state_resized("h"), _state_resized("c"), param_resized("b")),
    ),
    # the book's GRU (common/time_layers.py): blocks (z, r, h~), an op-level reference
    Row(
        name="GRU",
        group=GROUP,
        dims=STEP,
        inputs=(Tensor("x", ("N", "D")), Tensor("h_prev", ("N", "H"))),
        reference=ref.gru,
        params=_gates(3),
        convention=Convention(douts=("dh_next",)),
        malformed=(input_resized("x"), input_resized("h_prev"), param_resized("b")),
    ),
    Row(
        name="TimeGRU",
        group=GROUP,
        dims=SEQUENCE,
        inputs=_sequence_inputs("h"),
        reference=ref.time_gru,
        step_reference=ref.time_gru_steps,
        params=_gates(3),
        convention=_stateful(("h",), {"h": "dh"}, ref.time_gru_state),
        malformed=(input_resized("xs"), _state_resized("h"), param_resized("b")),
    ),
    # section 5.4: the time-distributed layers and the loss
    Row(
        name="TimeEmbedding",
        group=GROUP,
        dims={"N": Batch(), "T": Size("time"), "V": Size("vocab"), "D": Size()},
        inputs=(Tensor("xs", ("N", "T"), Indices("V")),),
        reference=ref.time_embedding,
        params=(Tensor("W", ("V", "D")),),
        malformed=(_missing_axis("xs"),),
    ),
    Row(
        name="TimeAffine",
        group=GROUP,
        dims={"N": Batch(), "T": Size("time"), "D": Size(), "H": Square("D")},
        inputs=(Tensor("xs", ("N", "T", "D")),),
        reference=ref.time_affine,
        params=(Tensor("W", ("D", "H")), Tensor("b", ("H",))),
        malformed=(input_resized("xs"), param_resized("b")),
    ),
    Row(
        name="TimeSoftmaxWithLoss",
        group=GROUP,
        dims={"N": Batch(), "T": Size("time"), "V": Classes("vocab")},
        inputs=(Tensor("xs", ("N", "T", "V")), Tensor("ts", ("N", "T"), ClassLabels("V", ignore_label=-1))),
        reference=ref.time_softmax_with_loss,
        convention=LOSS,
        malformed=(_all_ignored("ts"),),
        not_applicable={"bad_input:ts:negative_index": IGNORE_LABEL_IS_VALID},
    ),
    Row(
        name="TimeSigmoidWithLoss",
        group=GROUP,
        dims={"N": Batch(), "T": Size("time")},
        inputs=(Tensor("xs", ("N", "T")), Tensor("ts", ("N", "T"), BinaryLabels())),
        reference=ref.time_sigmoid_with_loss,
        convention=LOSS,
    ),
    # section 6.5: inverted dropout with the flag as an attribute, the mask read back
    Row(
        name="TimeDropout",
        group=GROUP,
        dims={"N": Batch(), "T": Size("time"), "D": Size(), "ratio": Choice((0.5, 0.1, 0.8))},
        inputs=(Tensor("xs", ("N", "T", "D")), Tensor("mask", ("N", "T", "D"), Observed(), route="hidden")),
        reference=ref.time_dropout,
        convention=Convention(
            constructor=Constructor(args=(Arg("dropout_ratio", "ratio"),)),
            mode=Mode(keyword=None, attribute="train_flg"),
            randomness=(SeededDraws(attribute="mask", observed="mask"),),
        ),
        sampling=KeepRate(ratio="ratio", input="xs", rank=3),
        not_applicable={
            "bad_input:xs:extra_axis": ANY_SHAPE_DROPOUT,
            "bad_input:xs:missing_axis": ANY_SHAPE_DROPOUT,
        },
    ),
    # chapter 8 (common/time_layers.py): two LSTMs, the second over the reversed sequence
    Row(
        name="TimeBiLSTM",
        group=GROUP,
        dims=RECURRENCE,
        inputs=(Tensor("xs", ("N", "T", "D")),),
        reference=ref.time_bilstm,
        params=(*_gates(4, "1"), *_gates(4, "2")),
        convention=Convention(douts=("dhs",)),
        malformed=(input_resized("xs"), param_resized("b1"), param_resized("b2")),
    ),
)
