"""What the conformance harness costs: seconds per example for every registry row and check.

For each (row, check) this times ``conformance.engine.verify`` on the
scratchnn implementation under fixed Hypothesis settings (the ``ci``
profile, derandomized, with ``MAX_EXAMPLES`` examples), and divides by the
number of examples the check ran (``Outcome.examples``). A check that does not
apply to a row (or a class that is missing) runs no example and shows ``-``.

Derandomized settings draw the same examples on every pass, so the passes can
be repeated and their median taken; the passes run one after another over all
(row, check) pairs, which spreads the machine's noise over all of them.
Passes during which other processes used more than 10 % of the CPUs are left
out of the median when enough others are clean (see benchmarks.timing). An
untimed first pass with one example per pair pays the one-time costs (imports,
PyTorch's first operations, Hypothesis' strategy and constant caches).

Hypothesis keeps a cache under ``.hypothesis/`` of the working directory; here
it goes to a temporary directory instead, so the repository is left as it was.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

import conformance.profiles  # noqa: F401 - registers the dev/ci/thorough profiles
from benchmarks.report import format_table, milliseconds
from benchmarks.timing import DISTURBED_SHARE, MIN_CLEAN_REPEATS, cpu_snapshot, others_share
from conformance.checks import CHECKS
from conformance.engine import MemorySink, verify
from conformance.implementation import Implementation
from conformance.registry import ROWS
from conformance.spec import Row

MAX_EXAMPLES = 20
SLOWEST_SHOWN = 5


@dataclass
class CheckCost:
    """Seconds of one (row, check), one sample per pass; ``used`` marks the passes
    the median is taken over (the clean ones, when there are enough)."""

    row: str
    check: str
    status: str = ""
    examples: int = 0
    samples: list[float] = field(default_factory=list)
    used: list[bool] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(s for s, use in zip(self.samples, self.used, strict=True) if use)

    @property
    def seconds_per_example(self) -> float | None:
        return self.seconds / self.examples if self.examples else None


def fixed_settings(max_examples: int = MAX_EXAMPLES) -> settings:
    return settings(settings.get_profile("ci"), max_examples=max_examples)


@contextmanager
def hypothesis_storage_outside_repository() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="scratchnn-bench-hypothesis-") as directory:
        set_hypothesis_home_dir(directory)
        try:
            yield Path(directory)
        finally:
            set_hypothesis_home_dir(None)


def time_verify(row: Row, check: str, implementation: Implementation, chosen: settings) -> tuple[float, Any]:
    """Wall-clock seconds of one ``verify`` call and its outcome."""
    start = time.perf_counter()
    outcome = verify(row, check, implementation, MemorySink(), chosen)
    return time.perf_counter() - start, outcome


def time_all_checks(
    passes: int, max_examples: int = MAX_EXAMPLES
) -> tuple[list[CheckCost], list[float | None]]:
    """Every (row, check) once per pass, after an untimed warm-up pass; returns the costs
    and each pass's share of the CPUs used by other processes (see benchmarks.timing)."""
    implementation = Implementation.load("scratchnn")
    pairs = [(row, check) for row in ROWS for check in CHECKS]
    costs = [CheckCost(row.name, check) for row, check in pairs]
    warm_up = fixed_settings(max_examples=1)
    for row, check in pairs:
        verify(row, check, implementation, MemorySink(), warm_up)
    chosen = fixed_settings(max_examples)
    shares: list[float | None] = []
    for _ in range(passes):
        before = cpu_snapshot()
        for (row, check), cost in zip(pairs, costs, strict=True):
            seconds, outcome = time_verify(row, check, implementation, chosen)
            cost.samples.append(seconds)
            cost.status, cost.examples = outcome.status, outcome.examples
        shares.append(others_share(before, cpu_snapshot()))
    clean = [share is None or share <= DISTURBED_SHARE for share in shares]
    used = clean if sum(clean) >= min(MIN_CLEAN_REPEATS, passes) else [True] * passes
    for cost in costs:
        cost.used = list(used)
    return costs, shares


def measure(quick: bool = False) -> dict[str, Any]:
    passes = 3 if quick else 7
    with hypothesis_storage_outside_repository():
        costs, shares = time_all_checks(passes)
    per_row: dict[str, float] = defaultdict(float)
    per_check: dict[str, float] = defaultdict(float)
    for cost in costs:
        per_row[cost.row] += cost.seconds
        per_check[cost.check] += cost.seconds
    return {
        "max_examples": MAX_EXAMPLES,
        "passes": passes,
        "others_cpu_share": shares,
        "passes_used": sum(costs[0].used),
        "profile": "ci",
        "torch_threads": torch.get_num_threads(),  # conformance.autograd sets 1
        "checks": list(CHECKS),
        "costs": [
            asdict(cost) | {"seconds": cost.seconds, "seconds_per_example": cost.seconds_per_example}
            for cost in costs
        ],
        "seconds_per_row": dict(per_row),
        "seconds_per_check": dict(per_check),
        "total_seconds": sum(per_row.values()),
    }


def _cell(cost: dict[str, Any]) -> str:
    per_example = cost["seconds_per_example"]
    if per_example is None:
        return "-"
    mark = "" if cost["status"] == "pass" else f" {cost['status'].upper()}"
    return f"{milliseconds(per_example)}{mark}"


def render_matrix(result: dict[str, Any]) -> str:
    checks: Sequence[str] = result["checks"]
    by_pair = {(c["row"], c["check"]): c for c in result["costs"]}
    rows = [
        [row, *(_cell(by_pair[(row, check)]) for check in checks), f"{seconds:.2f}"]
        for row, seconds in result["seconds_per_row"].items()
    ]
    totals = ["all rows", *(f"{result['seconds_per_check'][c]:.2f}s" for c in checks), ""]
    title = (
        f"Harness cost: ms per example of verify(row, check, scratchnn), ci profile, "
        f"max_examples={result['max_examples']}, median of {result['passes_used']} of {result['passes']} "
        f"pass(es) ({_shares(result['others_cpu_share'])})"
    )
    return format_table(["row", *checks, "row total s"], [*rows, totals], title)


def _shares(shares: Sequence[float | None]) -> str:
    known = [share for share in shares if share is not None]
    if not known:
        return "CPU use of other processes unknown"
    return f"other processes used {', '.join(f'{share:.0%}' for share in known)} of the CPUs"


def render_slowest(result: dict[str, Any]) -> str:
    timed = [c for c in result["costs"] if c["seconds_per_example"] is not None]
    slowest_pairs = sorted(timed, key=lambda c: c["seconds_per_example"], reverse=True)[:SLOWEST_SHOWN]
    slowest_rows = sorted(result["seconds_per_row"].items(), key=lambda item: item[1], reverse=True)
    total = result["total_seconds"]
    pairs = ", ".join(
        f"{c['row']}/{c['check']} {milliseconds(c['seconds_per_example'])} ms" for c in slowest_pairs
    )
    rows = ", ".join(
        f"{name} {seconds:.2f}s ({seconds / total:.0%})" for name, seconds in slowest_rows[:SLOWEST_SHOWN]
    )
    return (
        f"slowest per example: {pairs}\n"
        f"slowest rows (all checks): {rows}\n"
        f"all {len(result['costs'])} (row, check) pairs: {total:.2f} s"
    )


def render(result: dict[str, Any]) -> str:
    return f"{render_matrix(result)}\n{render_slowest(result)}"


if __name__ == "__main__":
    print(render(measure(quick=True)))
