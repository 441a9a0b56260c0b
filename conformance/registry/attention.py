"""Rows of ``scratchnn.attention`` (chapter 8, section 8.1): WeightSum, AttentionWeight,
Attention, TimeAttention.

No parameters; every input is differentiable. Time steps and state sizes have their own
caps (``time``, ``hidden``). The upstream gradients carry the names the book gives
backward's argument: ``dc`` (WeightSum), ``da`` (AttentionWeight), ``dout`` (Attention,
TimeAttention).
"""

from __future__ import annotations

import numpy as np

from conformance.conventions import Convention
from conformance.dims import Batch, DimsSpec, Size
from conformance.malformations import Malformation, input_resized
from conformance.references import attention as ref
from conformance.spec import Row, Tensor

GROUP = "scratchnn.attention"

ONE_STEP: DimsSpec = {"N": Batch(), "T": Size("time"), "H": Size("hidden")}
HS = Tensor("hs", ("N", "T", "H"))


def batch_grown(name: str) -> Malformation:
    """``name`` with one more row than the batch of the other inputs: it must not be paired
    with them by broadcasting or truncation."""
    return Malformation(
        name,
        "batch_mismatch",
        lambda ex: ex.with_input(name, np.concatenate([ex.value(name), ex.value(name)[:1]])),
    )


ROWS: tuple[Row, ...] = (
    Row(
        name="WeightSum",
        group=GROUP,
        dims=ONE_STEP,
        inputs=(HS, Tensor("a", ("N", "T"))),
        reference=ref.weight_sum,
        convention=Convention(douts=("dc",)),
        malformed=(input_resized("a", "time_steps"), batch_grown("a")),
    ),
    Row(
        name="AttentionWeight",
        group=GROUP,
        dims=ONE_STEP,
        inputs=(HS, Tensor("h", ("N", "H"))),
        reference=ref.attention_weight,
        convention=Convention(douts=("da",)),
        malformed=(input_resized("h"), batch_grown("h")),
    ),
    Row(
        name="Attention",
        group=GROUP,
        dims=ONE_STEP,
        inputs=(HS, Tensor("h", ("N", "H"))),
        reference=ref.attention,
        convention=Convention(douts=("dout",)),
        malformed=(input_resized("h"), batch_grown("h")),
    ),
    Row(
        name="TimeAttention",
        group=GROUP,
        dims={"N": Batch(), "Tenc": Size("time"), "Tdec": Size("time"), "H": Size("hidden")},
        inputs=(Tensor("hs_enc", ("N", "Tenc", "H")), Tensor("hs_dec", ("N", "Tdec", "H"))),
        reference=ref.time_attention,
        convention=Convention(douts=("dout",)),
        malformed=(input_resized("hs_dec"), batch_grown("hs_dec")),
    ),
)
