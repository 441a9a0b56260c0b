"""The registry: one row per layer, the only place that says what is checked.

Adding a layer means: its code in ``scratchnn/``, one row in the module of this
package that mirrors its scratchnn module (with its reference in
``conformance/references/``), nothing else. ``tests/harness`` fails when a public
class of any scratchnn module that follows the layer protocol has no row.
"""

from __future__ import annotations

from conformance.registry import (
    attention,
    layers,
    negative_sampling,
    nodes,
    rnnlm,
    seq2seq,
    time_layers,
    word2vec,
)
from conformance.spec import Row

ROWS: tuple[Row, ...] = (
    *nodes.ROWS,
    *layers.ROWS,
    *negative_sampling.ROWS,
    *word2vec.ROWS,
    *time_layers.ROWS,
    *rnnlm.ROWS,
    *attention.ROWS,
    *seq2seq.ROWS,
)
"""Every row, in report order: the book's order of the classes."""

ROWS_BY_NAME = {row.name: row for row in ROWS}
assert len(ROWS_BY_NAME) == len(ROWS), "every row has its own name"


def row_named(name: str) -> Row:
    try:
        return ROWS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no registry row named {name!r}; rows: {', '.join(ROWS_BY_NAME)}") from None


__all__ = ["ROWS", "ROWS_BY_NAME", "row_named"]
