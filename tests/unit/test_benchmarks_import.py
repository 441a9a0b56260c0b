"""The benchmarks are not run by the tests (they measure time), but they must keep importing:
a helper moved out of an example module once broke ``python -m benchmarks`` unnoticed."""

from __future__ import annotations

import importlib

import pytest

pytest.importorskip("torch")


def test_every_benchmark_module_imports() -> None:
    main = importlib.import_module("benchmarks.__main__")
    assert set(main.BENCHMARKS) >= {
        "training_step",
        "time_lstm",
        "word2vec_step",
        "rnnlm_step",
        "attention_seq2seq_step",
    }
    parser = main.build_parser()
    assert parser.parse_args(["--quick", "--only", "time_lstm"]).only == ["time_lstm"]
