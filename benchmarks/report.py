"""Plain-text tables and a description of the machine the numbers come from."""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.timing import DISTURBED_SHARE, cpu_snapshot, others_share
from scratchnn._openblas import numpy_openblas


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> str:
    """Columns padded to their widest cell; text left-aligned, numbers right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if _looks_numeric(cell) else cell.ljust(width)
            for cell, width in zip(cells, widths, strict=True)
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    body = [line(headers), rule, *(line(row) for row in rows)]
    return "\n".join([title, *body] if title else body)


def contender_table(contenders: Sequence[dict[str, Any]], title: str) -> str:
    """The interleaved contenders of a step benchmark: threads, median ms per step, spread, and
    how many steps one timed block holds."""
    rows = [
        [
            c["name"],
            str(c["threads"]),
            milliseconds(c["median_seconds"]),
            f"{c['spread']:.0%}",
            str(c["calls_per_block"]),
        ]
        for c in contenders
    ]
    return format_table(["contender", "threads", "ms/step", "IQR", "steps/block"], rows, title)


def _looks_numeric(cell: str) -> bool:
    """A number, possibly with thousands separators and a unit suffix: 1,234.5 / 0.52x / 6% / 2.1s."""
    try:
        float(cell.strip().rstrip("xs%").replace(",", ""))
    except ValueError:
        return False
    return True


def microseconds(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f}"


def cpu_model() -> str:
    """The 'model name' line of /proc/cpuinfo (Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def numpy_blas() -> str:
    """The BLAS NumPy was built against (name and version), as NumPy reports it."""
    import numpy as np

    try:
        config: Any = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except (TypeError, KeyError):
        return "unknown"


def numpy_blas_threads() -> str:
    """Threads NumPy's BLAS may use: OpenBLAS' own count where ``scratchnn._openblas`` finds
    it, else threadpoolctl's reading when it is importable (it is not a dependency of this
    project), else unknown (OpenBLAS defaults to one thread per core unless
    OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says otherwise).
    """
    blas = numpy_openblas()
    if blas is not None:
        return str(blas.get_threads())
    try:
        threadpoolctl: Any = importlib.import_module("threadpoolctl")
    except ImportError:
        return "unknown"
    counts = {
        int(pool["num_threads"]) for pool in threadpoolctl.threadpool_info() if pool.get("user_api") == "blas"
    }
    return ",".join(str(c) for c in sorted(counts)) or "unknown"


def load_average() -> float | None:
    """The 1-minute load average (Unix): how many runnable processes competed for the CPUs."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def others_share_now(seconds: float = 1.0) -> float | None:
    """Share of the CPUs other processes use, sampled over ``seconds`` (None: unknown)."""
    before = cpu_snapshot()
    time.sleep(seconds)
    return others_share(before, cpu_snapshot())


def busy_warning(share: float | None) -> str:
    """A warning when other processes keep the CPUs busy, else ''.

    On 2 cores, one busy core is enough to make every 2-thread contender
    (NumPy's BLAS, PyTorch's default) wait at each barrier for a time slice:
    steps 10-500x slower were seen here while another job ran.
    """
    if share is None or share <= DISTURBED_SHARE:
        return ""
    return (
        f"WARNING: other processes are using {share:.0%} of the CPUs: timings will be inflated "
        "(multi-threaded ones most); rerun on a quiet machine."
    )


def git_commit() -> str:
    """The commit checked out where this package lives (uncommitted changes not included)."""
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return completed.stdout.strip()


def describe_environment() -> dict[str, Any]:
    """Date, CPU, cores, versions and thread settings: what a reader needs to weigh the numbers."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "commit": git_commit(),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": package_version("numpy"),
        "numpy_blas": numpy_blas(),
        "numpy_blas_threads": numpy_blas_threads(),
        "torch": package_version("torch"),
        "hypothesis": package_version("hypothesis"),
        "load_average_at_start": load_average(),
        "others_cpu_share_at_start": others_share_now(),
        "thread_environment": {
            name: os.environ[name]
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            if name in os.environ
        },
    }


def format_environment(environment: dict[str, Any]) -> str:
    threads = environment["thread_environment"] or "none set"
    load, share = environment["load_average_at_start"], environment["others_cpu_share_at_start"]
    load_text = "unknown" if load is None else f"{load:.2f}"
    share_text = "an unknown share" if share is None else f"{share:.0%}"
    lines = [
        f"date {environment['date']}, commit {environment['commit']}; "
        f"{environment['cpu']}, {environment['logical_cpus']} logical CPUs",
        f"Python {environment['python']}, NumPy {environment['numpy']} ({environment['numpy_blas']}), "
        f"torch {environment['torch']}, Hypothesis {environment['hypothesis']}",
        f"thread variables: {threads}; NumPy BLAS threads: {environment['numpy_blas_threads']}",
        f"load average {load_text}; other processes used {share_text} of the CPUs in the last second",
    ]
    return "\n".join(filter(None, [*lines, busy_warning(share)]))
