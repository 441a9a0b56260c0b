"""The reports stay within their size limits on a run of the whole book's size.

The book has about 60 classes to check. A synthetic run of 60 rows is made from
the real records of six rows from across the book, each run under ``ci`` through
every check, then copied 10 times under other names. The six are chosen to write
at least as much per row as the whole book does: in a full ci run of the 51 rows
(2026-11-30, schema 3.0), conformance.json held 36.7 KB per row on average (from
6.9 KB for UnigramSampler to 111 KB for TimeLSTM), and these six average 42 KB.
Its reports must fit: conformance.json <= 3 MB, index.html <= 3 MB, records <= 20 MB,
also when the run is compared with a previous one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import scratchnn
from conformance.checks import CHECKS
from conformance.implementation import Implementation
from conformance.records import MANIFEST
from conformance.report import write
from tests.harness.reporting import record_run

MB = 1_000_000
LIMITS = {"conformance.json": 3 * MB, "index.html": 3 * MB, "records": 20 * MB}
SOURCE_ROWS = ("Affine", "Mul", "SoftmaxWithLoss", "Dropout", "TimeRNN", "Attention")
COPIES = 10


def renamed(record: dict, suffix: str) -> dict:  # type: ignore[type-arg]
    """``record`` with every layer name it holds given ``suffix``."""
    if "layer" in record:
        record["layer"] += suffix
    if record.get("type") == "planned":
        record["tests"] = [[layer + suffix, check] for layer, check in record["tests"]]
        record["rows"] = {layer + suffix: declared for layer, declared in record["rows"].items()}
    return record


@pytest.fixture(scope="module")
def book_sized_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = record_run(
        tmp_path_factory.mktemp("source"),
        Implementation((scratchnn,)),
        [(layer, check) for layer in SOURCE_ROWS for check in CHECKS],
    )
    lines = (source / "gw0.jsonl").read_text(encoding="utf-8").splitlines()
    target = tmp_path_factory.mktemp("book")
    (target / MANIFEST).write_text((source / MANIFEST).read_text(encoding="utf-8"), encoding="utf-8")
    with (target / "gw0.jsonl").open("w", encoding="utf-8") as out:
        for copy in range(COPIES):
            for line in lines:
                record = renamed(json.loads(line), f"_{copy:02d}")
                out.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
    return target


def test_a_run_of_60_rows_gives_reports_within_their_limits(book_sized_run: Path, tmp_path: Path) -> None:
    """Twice, as ``tox -e conformance`` runs: the second run compares itself with the first."""
    first = write.build_and_write(book_sized_run, tmp_path, None)
    assert len(first["rows"]) == len(SOURCE_ROWS) * COPIES == 60
    baseline = write.load_report(tmp_path / "conformance.json")
    for run in ("first", "second"):
        if run == "second":
            second = write.build_and_write(book_sized_run, tmp_path, (baseline, "conformance.json"))
            assert second["baseline"]["entries"], "the second run was compared with the first"
        sizes = {
            "conformance.json": (tmp_path / "conformance.json").stat().st_size,
            "index.html": (tmp_path / "index.html").stat().st_size,
            "records": sum(path.stat().st_size for path in book_sized_run.iterdir()),
        }
        print(f"\n{run} run, 60 rows: {', '.join(f'{k} {v / MB:.2f} MB' for k, v in sizes.items())}")
        for name, size in sizes.items():
            assert size <= LIMITS[name], f"{run} run: {name}: {size / MB:.2f} MB > {LIMITS[name] / MB:.0f} MB"
