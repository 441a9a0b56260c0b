"""Wall-clock time of the whole conformance run, as CI runs it.

Times ``python -m conformance run --profile ci -n WORKERS --out <tmp>`` as a
subprocess: interpreter start-up, imports, pytest collection, the xdist
workers, every (row, check) and the reports. With more than one worker count
(the full run times ``-n 2`` and ``-n 1``) the runs alternate, so slow phases
of the machine are shared; with several repeats the median is reported.

Nothing is written to the repository: the reports go to a temporary
directory, which is also the working directory of the run and Hypothesis'
storage directory (``HYPOTHESIS_STORAGE_DIRECTORY``), shared by the runs of one
benchmark so that only the first starts with an empty cache.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import conformance
from benchmarks.report import format_table
from benchmarks.timing import cpu_snapshot, others_share

TIMEOUT_SECONDS = 900
OUTPUT_TAIL_LINES = 15


# pytest's summary line, e.g. "104 passed, 1 skipped, 2 warnings in 7.48s"
PYTEST_SUMMARY = re.compile(r"\b(?:passed|failed|skipped|error|errors|warnings?)\b.* in (\d+(?:\.\d+)?)s\b")


@dataclass
class Run:
    """One run: wall-clock seconds, and the part pytest reports as its own session time
    (collection and the checks; the rest is start-up, imports and writing the reports)."""

    seconds: float
    exit_code: int
    output_tail: str
    pytest_seconds: float | None = None
    others_cpu_share: float | None = None


def pytest_session_seconds(output: str) -> float | None:
    matches = PYTEST_SUMMARY.findall(output)
    return float(matches[-1]) if matches else None


@dataclass
class RunSeries:
    """The runs with one worker count."""

    workers: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def median_pytest_seconds(self) -> float | None:
        known = [run.pytest_seconds for run in self.runs if run.pytest_seconds is not None]
        return statistics.median(known) if known else None

    @property
    def all_exited_0(self) -> bool:
        return all(run.exit_code == 0 for run in self.runs)


def conformance_command(workers: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "conformance", "run", "--profile", "ci", "-n", workers, "--out", str(out)]


def subprocess_environment(storage: Path) -> dict[str, str]:
    """Our environment, with the directory that holds ``conformance`` (and, in a checkout,
    ``scratchnn``) first on PYTHONPATH: the run works from any working directory."""
    source_root = str(Path(conformance.__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")]))
    return os.environ | {"PYTHONPATH": path, "HYPOTHESIS_STORAGE_DIRECTORY": str(storage)}


def time_one_run(workers: str, scratch: Path, index: int) -> Run:
    out = scratch / f"reports-{index}"
    before = cpu_snapshot()
    start = time.perf_counter()
    completed = subprocess.run(
        conformance_command(workers, out),
        cwd=scratch,
        env=subprocess_environment(scratch / "hypothesis"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    seconds = time.perf_counter() - start
    share = others_share(before, cpu_snapshot())  # the run's CPU time counts as ours once waited for
    output = completed.stdout + completed.stderr
    tail = "\n".join(output.strip().splitlines()[-OUTPUT_TAIL_LINES:])
    return Run(seconds, completed.returncode, tail, pytest_session_seconds(completed.stdout), share)


def measure(quick: bool = False) -> dict[str, Any]:
    worker_counts, repeats = (["2"], 1) if quick else (["2", "1"], 3)
    series = [RunSeries(workers) for workers in worker_counts]
    with tempfile.TemporaryDirectory(prefix="scratchnn-bench-conformance-") as directory:
        scratch = Path(directory)
        for repeat in range(repeats):
            for number, one in enumerate(series):
                one.runs.append(time_one_run(one.workers, scratch, repeat * len(series) + number))
    return {
        "command": " ".join(["python", *conformance_command("N", Path("<tmp>"))[1:]]),
        "repeats": repeats,
        "series": [
            asdict(one)
            | {
                "median_seconds": one.median_seconds,
                "median_pytest_seconds": one.median_pytest_seconds,
                "all_exited_0": one.all_exited_0,
            }
            for one in series
        ],
    }


def _percent(share: float | None) -> str:
    return "?" if share is None else f"{share:.0%}"


def render(result: dict[str, Any]) -> str:
    rows = [
        [
            f"-n {one['workers']}",
            f"{one['median_seconds']:.1f}",
            "?" if one["median_pytest_seconds"] is None else f"{one['median_pytest_seconds']:.1f}",
            ", ".join(f"{run['seconds']:.1f}" for run in one["runs"]),
            ", ".join(str(run["exit_code"]) for run in one["runs"]),
            ", ".join(_percent(run["others_cpu_share"]) for run in one["runs"]),
        ]
        for one in result["series"]
    ]
    title = f"Conformance run: wall-clock seconds of `{result['command']}`, {result['repeats']} repeat(s)"
    headers = ["workers", "median s", "pytest s", "each run s", "exit code", "others' CPU"]
    text = format_table(headers, rows, title)
    text += (
        "\npytest s: the session time pytest reports (collection and checks); "
        "the rest is start-up, imports and the reports.\n"
        "others' CPU: share of the CPUs used by other processes during each run."
    )
    failures = [
        f"-n {one['workers']} exited {run['exit_code']}; last lines of its output:\n{run['output_tail']}"
        for one in result["series"]
        for run in one["runs"]
        if run["exit_code"] != 0
    ]
    if failures:
        text += "\nWARNING: the conformance run did not exit 0:\n" + "\n".join(failures)
    return text


if __name__ == "__main__":
    print(render(measure(quick=True)))
