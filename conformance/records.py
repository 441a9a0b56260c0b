"""Records of a run: JSON lines written as measurements happen, one file per process.

A run's records directory holds ``run.json`` (the manifest: environment,
arguments, start and end time) and one ``<worker>.jsonl`` per pytest process
(``main`` without pytest-xdist, ``gw0``, ``gw1``, ... with it). Each line is an
``example`` (what the measurements of one example share: layer, check, case,
spec, shapes), a measurement (compact: it names its example by ``ex``, leaves
out what is at its default, and of a pass keeps 4 digits), a ``case`` (how one
case of a row's check ended), an ``outcome`` (how a row's check ended) or
``planned`` (the tests a process collected, and each row's group). Every line
is flushed when written, so a run that is interrupted or killed loses at most
the line being written."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module before pytest starts: it must not import Hypothesis
    from conformance.engine import CaseOutcome, Outcome
    from conformance.measurement import Measurement

MANIFEST = "run.json"


EXAMPLE_FIELDS = ("layer", "check", "case", "example", "shapes")
"""What the measurements of one example share: written once, in an ``example`` record that
the measurement records name by ``ex``. (The implementation is the run's, in the manifest.)"""

PASS_DROPPED = ("actual", "expected", "worst_index", "median_rel_err", "detail", "type", "status", "impl")
"""Fields a passing measurement's record leaves out: the reports read them of failures only
(a record without a type is a measurement, without a status a pass)."""

SIGNIFICANT = 3
"""Digits kept of a passing measurement's numbers: its errors are compared with tolerances
and plotted to 3 digits (the full precision of failures is kept). With the fields left out,
a whole-book ci run of 51 rows writes about 14 MB of records instead of 18."""


def _compact(value: Any) -> Any:
    return float(f"{value:.{SIGNIFICANT}g}") if isinstance(value, float) else value


class JsonLinesSink:
    """Appends records to ``<directory>/<worker>.jsonl``."""

    def __init__(self, directory: Path, worker: str = "main", implementation: str = "") -> None:
        """``implementation``: the run's (as in the manifest), which records then leave out."""
        directory.mkdir(parents=True, exist_ok=True)
        self.implementation = implementation
        self.path = directory / f"{worker}.jsonl"
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
        self._example: tuple[str, int] = ("", -1)

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
        self._file.write(line + "\n")
        self._file.flush()

    def measurement(self, measurement: Measurement) -> None:
        record = measurement.to_record()
        if record.get("impl") == self.implementation:
            del record["impl"]
        shared = {k: record.pop(k) for k in EXAMPLE_FIELDS if k in record}
        key = json.dumps(shared, sort_keys=True)
        if key != self._example[0]:
            self._example = (key, self._example[1] + 1)
            self._write({"type": "example", "ex": self._example[1], **shared})
        record["ex"] = self._example[1]
        if record.get("dtype") == "float64":
            del record["dtype"]
        if record.get("status") == "pass":
            record = {k: _compact(v) for k, v in record.items() if k not in PASS_DROPPED}
        self._write(record)

    def case(self, outcome: CaseOutcome) -> None:
        self._write(outcome.to_json())

    def outcome(self, outcome: Outcome) -> None:
        self._write(outcome.to_json())

    def planned(self, tests: list[tuple[str, str]], rows: dict[str, dict[str, Any]]) -> None:
        """The tests a process collected, and what each row declares (its group, tolerance
        factor and not-applicable reasons: see ``Row.declarations``)."""
        self._write({"type": "planned", "tests": [list(t) for t in tests], "rows": rows})

    def close(self) -> None:
        self._file.close()


def clear(directory: Path) -> None:
    """Remove the records of an earlier run from ``directory`` (only the files records write)."""
    if not directory.exists():
        return
    for path in directory.glob("*.jsonl"):
        path.unlink()
    manifest = directory / MANIFEST
    if manifest.exists():
        manifest.unlink()


def read(directory: Path) -> Iterator[dict[str, Any]]:
    """Every record of every worker file, measurements with the fields of their example
    restored (a pass where no status is written, the run's implementation where none is); a
    truncated last line (a killed run) is skipped."""
    implementation = read_manifest(directory).get("implementation") or ""
    defaults = {"type": "measurement", "dtype": "float64", "status": "pass", "impl": implementation}
    for path in sorted(directory.glob("*.jsonl")):
        examples: dict[int, dict[str, Any]] = {}
        with path.open(encoding="utf-8") as file:
            for line in file:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if record.get("type") == "example":
                    examples[record.pop("ex")] = {k: v for k, v in record.items() if k != "type"}
                    continue
                if "ex" in record:
                    record = defaults | examples.get(record.pop("ex"), {}) | record
                yield record


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, allow_nan=False), encoding="utf-8")
    temporary.replace(directory / MANIFEST)


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.exists():
        return {}
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def has_outcomes(directory: Path) -> bool:
    """Whether any (row, check) finished: a run that stopped before that checked nothing."""
    return any(record.get("type") == "outcome" for record in read(directory))


def replace(source: Path, target: Path) -> None:
    """Move the records in ``source`` over those in ``target`` (the previous run's)."""
    clear(target)
    target.mkdir(parents=True, exist_ok=True)
    for path in [*source.glob("*.jsonl"), source / MANIFEST]:
        if path.exists():
            path.replace(target / path.name)
    with contextlib.suppress(OSError):
        source.rmdir()
