"""Rows of ``scratchnn.time_layers``: the recurrent layers of chapters 5 and 6.

Time steps and state sizes have their own caps (``time``, ``hidden``: T <= 4 and
H <= 5 under ``ci``). A stateful layer is checked from a zero state (built with
``stateful=False``), from a state given by ``set_state`` (whose gradient the
book keeps as ``dh``), and from the state a first call carried over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.conventions import Arg, Constructor, Convention, State
from conformance.dims import Batch, DimsSpec, Size
from conformance.malformations import Malformation, grow_last_axis, input_resized, param_resized
from conformance.references import time_layers as ref
from conformance.spec import Row, Tensor

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
        params=RNN_PARAMS,
        convention=_stateful(("h",), {"h": "dh"}, ref.time_rnn_state),
        malformed=(input_resized("xs"), _state_resized("h"), param_resized("b")),
    ),
)
