"""``python -m benchmarks [--quick] [--out FILE.json] [--only NAME ...]``: run the benchmarks.

Prints one table per benchmark and, with ``--out``, writes every number (and
the raw samples) as JSON. The training-step benchmark exits with status 1 if
scratchnn and PyTorch do not compute the same step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import (
    attention_seq2seq_step,
    conformance_run,
    harness_cost,
    rnnlm_step,
    time_lstm,
    training_step,
    word2vec_step,
)
from benchmarks.report import describe_environment, format_environment

Measure = Callable[[bool], dict[str, Any]]
Render = Callable[[dict[str, Any]], str]

BENCHMARKS: dict[str, tuple[Measure, Render]] = {
    "training_step": (training_step.measure, training_step.render),
    "harness_cost": (harness_cost.measure, harness_cost.render),
    "conformance_run": (conformance_run.measure, conformance_run.render),
    "time_lstm": (time_lstm.measure, time_lstm.render),
    "word2vec_step": (word2vec_step.measure, word2vec_step.render),
    "rnnlm_step": (rnnlm_step.measure, rnnlm_step.render),
    "attention_seq2seq_step": (attention_seq2seq_step.measure, attention_seq2seq_step.render),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats (under a minute)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.json", help="write the numbers here")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        default=None,
        help="run only this benchmark (repeatable; default: all)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    environment = describe_environment()
    print(format_environment(environment))
    print("One run on this machine: compare the ratios within it, not absolute times across machines.")
    results: dict[str, Any] = {"environment": environment, "quick": args.quick}
    for name in args.only or list(BENCHMARKS):
        measure, render = BENCHMARKS[name]
        start = time.perf_counter()
        try:
            results[name] = measure(args.quick)
        except training_step.DifferentComputations as error:
            print(f"\nbenchmarks: {name} FAILED: {error}", file=sys.stderr)
            return 1
        results[name]["benchmark_seconds"] = time.perf_counter() - start
        print(f"\n{render(results[name])}\n({name} took {results[name]['benchmark_seconds']:.0f} s)")
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nbenchmarks: numbers written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
