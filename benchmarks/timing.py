"""Interleaved, repeated timing of several contenders, summarised by medians.

The machine this runs on is shared and noisy (2 cores, other jobs, frequency
changes). These choices make the numbers comparable anyway:

- **Interleaving.** One repeat times one block of every contender, back to
  back; the next repeat starts with the next contender (the order rotates).
  A slow phase of the machine then hits all contenders instead of the one that
  happened to be running, and no contender is always first after another one.
- **Medians.** Noise only ever adds time, in bursts; the median of several
  repeats ignores the bursts where a mean would absorb them. Ratios are taken
  per repeat (the blocks of one repeat ran a fraction of a second apart) and
  then the median of those ratios is reported, which also cancels slow drifts.
- **Warm-up.** The first calls pay for lazy initialisation (PyTorch's
  autograd and thread pools, BLAS buffers, allocator caches, imports inside
  functions). Calibrating the block size runs every contender for a while
  before anything is recorded.
- **Settling.** After a parallel operation, OpenBLAS's and OpenMP's worker
  threads keep spinning for a while before they sleep. On 2 cores, the next
  contender then finds a core taken, and a 2-thread contender waits at every
  barrier for its preempted second thread: measured here, PyTorch with 2
  threads ran 2x slower right after NumPy than alone. A short pause before
  each block (:data:`SETTLE_SECONDS`) lets the previous contender's threads
  go to sleep, so each block starts on an idle machine.
- **Other processes.** Medians survive bursts, not a job that keeps a core
  busy for a minute; with one core taken, a 2-thread contender runs 10-500x
  slower. Each repeat therefore records the share of the CPUs that *other*
  processes used meanwhile (Linux: ``/proc/stat`` minus this process), and
  repeats where it exceeds :data:`DISTURBED_SHARE` are set aside; more repeats
  run, up to :data:`MAX_REPEAT_FACTOR` times the requested number, until
  enough are clean. If too few are, all repeats are used and the result is
  flagged as disturbed.

The garbage collector is paused inside a timed block, as :mod:`timeit` does,
so that a collection triggered by one contender's garbage is not billed to the
next one.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SETTLE_SECONDS = 0.1
"""Pause before each timed block: longer than OpenBLAS's and GNU OpenMP's spin-waits.
0.02 s was not enough here; 0.1 s gave each contender its stand-alone speed."""

DISTURBED_SHARE = 0.1
"""A repeat is disturbed when other processes used more than this share of all CPUs
during it (one busy core of two is 0.5; kernel housekeeping stays near 0.01)."""

MAX_REPEAT_FACTOR = 3
MIN_CLEAN_REPEATS = 3


# --- how busy the other processes kept the machine ---------------------------------------


@dataclass(frozen=True)
class CpuSnapshot:
    """Cumulative CPU time in clock ticks: all CPUs busy, all CPUs in total, this
    process (all its threads, and its children once they have been waited for)."""

    busy: int
    total: int
    own: int


def cpu_snapshot() -> CpuSnapshot | None:
    """The counters now, or None where /proc is not available."""
    try:
        machine = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
        process = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in machine)
    busy = user + nice + system + irq + softirq + steal
    # Fields 14-17 of /proc/PID/stat (numbered from 1): utime, stime, cutime, cstime.
    own = sum(int(v) for v in process[11:15])
    return CpuSnapshot(busy, busy + idle + iowait, own)


def others_share(before: CpuSnapshot | None, after: CpuSnapshot | None) -> float | None:
    """Share of all CPUs' time between the snapshots used by other processes."""
    if before is None or after is None or after.total <= before.total:
        return None
    others = (after.busy - before.busy) - (after.own - before.own)
    return max(0.0, others / (after.total - before.total))


# --- timing ------------------------------------------------------------------------------


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Contender:
    """One thing to time: ``call`` is timed, ``prepare`` runs untimed before each block
    (e.g. ``torch.set_num_threads``, which is process-wide)."""

    name: str
    call: Callable[[], object]
    prepare: Callable[[], None] = _nothing


@dataclass
class Timing:
    """Seconds per call of one contender, one sample per repeat, and which repeats were clean."""

    name: str
    calls_per_block: int
    samples: list[float] = field(default_factory=list)
    clean: list[bool] = field(default_factory=list)

    @property
    def disturbed(self) -> bool:
        """Too few clean repeats: the summary uses all of them and is not to be trusted."""
        return sum(self.clean) < MIN_CLEAN_REPEATS

    @property
    def used(self) -> list[float]:
        """The samples the summary is taken over: the clean ones, or all if too few are clean."""
        if self.disturbed:
            return list(self.samples)
        return [s for s, ok in zip(self.samples, self.clean, strict=True) if ok]

    @property
    def median(self) -> float:
        return statistics.median(self.used)

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median: how noisy the used samples were."""
        used = self.used
        if len(used) < 2:
            return 0.0
        q1, _, q3 = statistics.quantiles(used, n=4, method="inclusive")
        return (q3 - q1) / self.median


def time_block(call: Callable[[], object], calls: int) -> float:
    """Seconds per call over ``calls`` back-to-back calls, with the garbage collector paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(calls):
            call()
        elapsed = time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()
    return elapsed / calls


def calls_per_block(contender: Contender, block_seconds: float) -> int:
    """How many calls make a block of about ``block_seconds``; doubles as the warm-up.

    A block must be long against the clock's resolution and the loop's own
    overhead, and short enough that the machine's noise averages out over
    many blocks rather than within one.
    """
    contender.prepare()
    contender.call()  # the very first call: lazy initialisation, never timed
    calls = 1
    while True:
        per_call = time_block(contender.call, calls)
        if per_call * calls >= block_seconds / 4:
            return max(1, round(block_seconds / per_call))
        calls *= 2


def time_one_repeat(
    contenders: Sequence[Contender], timings: Sequence[Timing], first: int, settle_seconds: float
) -> float | None:
    """One block of every contender, starting with contender ``first``; returns the
    share of the CPUs other processes used meanwhile (None if unknown)."""
    before = cpu_snapshot()
    for index in [*range(first, len(contenders)), *range(first)]:
        contenders[index].prepare()
        time.sleep(settle_seconds)
        timings[index].samples.append(time_block(contenders[index].call, timings[index].calls_per_block))
    return others_share(before, cpu_snapshot())


def time_interleaved(
    contenders: Sequence[Contender],
    repeats: int,
    block_seconds: float,
    settle_seconds: float = 0.0,
    max_repeats: int | None = None,
) -> tuple[list[Timing], list[float | None]]:
    """Time every contender in ``repeats`` clean interleaved repeats (blocks of ``block_seconds``,
    ``settle_seconds`` before each), running up to ``max_repeats`` (default MAX_REPEAT_FACTOR
    times ``repeats``) when other processes disturb some. Returns the timings and each
    repeat's share of the CPUs used by other processes."""
    limit = MAX_REPEAT_FACTOR * repeats if max_repeats is None else max(repeats, max_repeats)
    timings = [Timing(c.name, calls_per_block(c, block_seconds)) for c in contenders]
    shares: list[float | None] = []
    while sum(timings[0].clean) < repeats and len(shares) < limit:
        share = time_one_repeat(contenders, timings, len(shares) % len(contenders), settle_seconds)
        shares.append(share)
        for timing in timings:
            timing.clean.append(share is None or share <= DISTURBED_SHARE)
    return timings, shares


def median_ratio(numerator: Timing, denominator: Timing) -> float:
    """Median over the used repeats of numerator/denominator, each ratio from one repeat.

    Both timings come from the same interleaved run, so they used the same repeats."""
    return statistics.median(a / b for a, b in zip(numerator.used, denominator.used, strict=True))
