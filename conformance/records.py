"""Records of a run: JSON lines written as measurements happen, one file per process.

A run's records directory holds ``run.json`` (the manifest: environment,
arguments, start and end time) and one ``<worker>.jsonl`` per pytest process
(``main`` without pytest-xdist, ``gw0``, ``gw1``, ... with it). Each line is a
``measurement``, an ``outcome`` (how a row's check ended) or ``planned`` (the
tests a process collected). Every line is flushed when written, so a run that
is interrupted or killed loses at most the line being written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module before pytest starts: it must not import Hypothesis
    from conformance.engine import Outcome
    from conformance.measurement import Measurement

MANIFEST = "run.json"


class JsonLinesSink:
    """Appends records to ``<directory>/<worker>.jsonl``."""

    def __init__(self, directory: Path, worker: str = "main") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{worker}.jsonl"
        self._file: IO[str] = self.path.open("a", encoding="utf-8")

    def _write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, allow_nan=False) + "\n")
        self._file.flush()

    def measurement(self, measurement: Measurement) -> None:
        self._write(measurement.to_json())

    def outcome(self, outcome: Outcome) -> None:
        self._write(outcome.to_json())

    def planned(self, tests: list[tuple[str, str]]) -> None:
        self._write({"type": "planned", "tests": [list(t) for t in tests]})

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
    """Every record of every worker file; a truncated last line (a killed run) is skipped."""
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as file:
            for line in file:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue


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
