"""The command line end to end, as a user runs it: exit codes, messages, reports, records."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.measurement import CHECK_NAMES

ROOT = Path(__file__).resolve().parents[2]
LEARNER = "tests.harness.fixtures.broken_affine"


def conformance(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def report_of(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "conformance.json").read_text(encoding="utf-8"))


def test_a_broken_layer_fails_the_run_and_is_named(tmp_path: Path) -> None:
    result = conformance("run", "--impl", LEARNER, "--profile", "ci", "-k", "Affine", "--out", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Affine · gradient · " in result.stdout
    assert "--impl tests.harness.fixtures.broken_affine" in result.stdout
    document = report_of(tmp_path)
    affine = next(r for r in document["rows"] if r["layer"] == "Affine")
    assert affine["checks"]["gradient"]["status"] in ("fail", "error")
    assert affine["checks"]["forward"]["status"] == "pass"
    # progress: one line per (row, check) as it finishes, with status, cases, examples and seconds
    progress = [line for line in result.stdout.splitlines() if line.startswith("Affine · ")]
    assert any(
        re.match(r"Affine · forward +pass +4 cases +\d+ examples +[\d.]+ s", line) for line in progress
    ), progress
    assert any(re.match(r"Affine · gradient +fail ", line) for line in progress), progress
    # the failing check's cases, one line each: with a square W, a wrong dx and its likely cause;
    # with a batch of one, W (2, 2) against dout (1, 2) cannot even multiply
    transposed = (
        "likely cause: dx is what the right formula gives with W transposed: a missing (or extra) .T on W"
    )
    assert "    N>1 · moderate: FAIL dx: max rel err " in result.stdout
    assert transposed in result.stdout
    assert "    N=1 · moderate: ERROR ValueError in backward: shapes" in result.stdout
    assert "at broken_affine.py:25" in result.stdout
    assert re.search(r"^Affine +pass +FAIL \(4 of 4 cases\)", result.stdout, flags=re.MULTILINE)
    assert "conformance: correctness: 1 layer disagrees: Affine (gradient, " in result.stdout
    assert {p.name for p in tmp_path.iterdir()} >= {
        "conformance.json",
        "conformance.md",
        "index.html",
        "records",
    }


def test_layers_the_learner_lacks_are_not_failures_nor_a_pass(tmp_path: Path) -> None:
    result = conformance(
        "run", "--impl", LEARNER, "--profile", "dev", "-k", "Sigmoid or Tanh", "--out", str(tmp_path)
    )
    assert result.returncode == 5, result.stdout + result.stderr
    assert "conformance: nothing was checked: no layer could be constructed and run" in result.stdout
    document = report_of(tmp_path)
    assert {r["status"] for r in document["rows"]} == {"not_implemented"}
    assert document["summary"]["status"] == "nothing_checked"


def test_scratchnn_passes_with_two_workers_and_their_records_merge(tmp_path: Path) -> None:
    result = conformance(
        "run", "--profile", "dev", "-n", "2", "-k", "Affine or Softmax", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workers = sorted(p.name for p in (tmp_path / "records").glob("*.jsonl"))
    assert workers == ["gw0.jsonl", "gw1.jsonl"]
    document = report_of(tmp_path)
    assert document["complete"]
    assert document["summary"]["status"] == "pass"
    checks = {layer: set(r["checks"]) for r in document["rows"] for layer in [r["layer"]]}
    assert checks["Affine"] == checks["Softmax"] == set(CHECK_NAMES)


def test_usage_errors_have_their_own_exit_codes(tmp_path: Path) -> None:
    nothing = conformance("run", "-k", "NoSuchLayer", "--out", str(tmp_path))
    assert nothing.returncode == 5
    assert "no row and check matched" in nothing.stderr
    missing = conformance("run", "--impl", "no_such_module", "--out", str(tmp_path))
    assert missing.returncode == 4
    assert "cannot import implementation module 'no_such_module'" in missing.stderr
    unknown = conformance("run", "--checks", "speed", "--out", str(tmp_path))
    assert unknown.returncode == 4
    assert "unknown check 'speed'" in unknown.stderr
    alias = conformance("run", "--alias", "Affine", "--out", str(tmp_path))
    assert alias.returncode == 4
    assert "an alias reads ROW=NAME" in alias.stderr
    assert not (tmp_path / "conformance.json").exists(), "a usage error writes no report"


def test_a_configuration_problem_leaves_the_previous_reports_untouched(tmp_path: Path) -> None:
    first = conformance("run", "--profile", "dev", "-k", "ReLU and forward", "--out", str(tmp_path))
    assert first.returncode == 0, first.stdout + first.stderr
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    broken = conformance("run", "-k", "ReLU", "--out", str(tmp_path), "--", "--no-such-pytest-option")
    assert broken.returncode == 4, broken.stdout + broken.stderr
    assert "a configuration or installation problem" in broken.stderr
    assert "interrupted" not in broken.stdout + broken.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert not (tmp_path / "records.partial").exists()


def test_correctness_apart_from_robustness_for_book_code(tmp_path: Path) -> None:
    book = "tests.harness.fixtures.book_layers"
    correct = conformance(
        "run",
        "--impl",
        book,
        "--checks",
        "correctness",
        "-k",
        "Sigmoid and not Loss",
        "--profile",
        "ci",
        "--out",
        str(tmp_path),
    )
    assert correct.returncode == 0, correct.stdout + correct.stderr
    assert "conformance: correctness: every gradient agrees" in correct.stdout
    assert "robustness" not in correct.stdout.split("conformance: correctness")[1]
    robust = conformance(
        "run",
        "--impl",
        book,
        "--checks",
        "robustness",
        "-k",
        "Sigmoid and not Loss",
        "--profile",
        "ci",
        "--out",
        str(tmp_path),
    )
    assert robust.returncode == 1, robust.stdout + robust.stderr
    assert "overflow in Sigmoid" in robust.stdout
    assert re.search(r"overflow encountered in exp at book_layers\.py:\d+", robust.stdout)
    document = report_of(tmp_path)
    sigmoid = next(r for r in document["rows"] if r["layer"] == "Sigmoid")
    assert set(sigmoid["checks"]) == {"stability", "bad_input"}


def test_quiet_runs_print_no_progress(tmp_path: Path) -> None:
    result = conformance("run", "-q", "--profile", "dev", "-k", "ReLU and forward", "--out", str(tmp_path))
    assert result.returncode == 0
    assert "ReLU · forward" not in result.stdout
    assert re.search(r"^ReLU +pass$", result.stdout, flags=re.MULTILINE), "the closing grid stays"
    assert "conformance: correctness: every gradient agrees" in result.stdout


def test_list_shows_rows_signatures_cases_and_what_the_implementation_has() -> None:
    result = conformance("list", "--impl", LEARNER)
    assert result.returncode == 0
    lines = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert any(line.split()[0] == "Affine" and "Affine(W, b)" in line and LEARNER in line for line in lines)
    assert any(line.split()[0] == "Sigmoid" and f"no class Sigmoid in {LEARNER}" in line for line in lines)
    assert any("cases by batch × regime" in line for line in lines)


def test_report_rebuilds_from_records_and_flags_a_regression(tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    assert (
        conformance("run", "--profile", "ci", "-k", "Affine and gradient", "--out", str(good)).returncode == 0
    )
    conformance("run", "--impl", LEARNER, "--profile", "ci", "-k", "Affine and gradient", "--out", str(bad))
    rebuilt = tmp_path / "rebuilt"
    result = conformance(
        "report",
        "--records",
        str(bad / "records"),
        "--baseline",
        str(good / "conformance.json"),
        "--out",
        str(rebuilt),
    )
    assert result.returncode == 1
    assert "REGRESSION Affine gradient" in result.stdout
    document = report_of(rebuilt)
    assert document["baseline"]["regressions"] >= 1
    assert "Changes since baseline" in (rebuilt / "conformance.md").read_text(encoding="utf-8")
    same = conformance(
        "report",
        "--records",
        str(good / "records"),
        "--baseline",
        str(good / "conformance.json"),
        "--out",
        str(tmp_path / "same"),
    )
    assert same.returncode == 0, same.stdout + same.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_still_writes_an_incomplete_report(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", "--profile", "thorough", "--out", str(tmp_path)],
        cwd=ROOT,
        # Background processes (and pytest-xdist workers) may ignore SIGINT, and children
        # inherit that; a user's terminal delivers Ctrl-C with the default handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    records = tmp_path / "records" / "main.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not records.exists() or records.stat().st_size < 20_000):
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stdout + stderr
    document = report_of(tmp_path)
    assert not document["complete"]
    assert document["summary"]["status"] == "incomplete"
    assert document["summary"]["examples"] > 0
    assert "INCOMPLETE" in (tmp_path / "conformance.md").read_text(encoding="utf-8")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_environment_variable_selects_the_implementation(tmp_path: Path) -> None:
    env = dict(os.environ, SCRATCHNN_IMPL=LEARNER)
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert f"implementation: {LEARNER}" in result.stdout


def test_a_module_whose_constructors_all_mismatch_is_not_a_pass(tmp_path: Path) -> None:
    result = conformance(
        "run", "--impl", "tests.harness.fixtures.slips.foreign_constructor", "--profile", "dev", "-q",
        "-k", "Repeat or Sum", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 5, result.stdout + result.stderr
    assert "conformance: nothing checked; reports in" in result.stdout
    mismatch = "signature mismatch: expected Repeat(repeats, axis), found Repeat(D, N)"
    assert f"conformance: not checked: Repeat: {mismatch}" in result.stdout
    assert result.stdout.rstrip().endswith(
        "conformance: nothing was checked: no layer could be constructed and run (see why above)"
    )


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    """``python -m conformance list | head -1``: the reader is gone before the output is written
    (here from the start: the pipe's read end is closed before the process runs)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "conformance", "list"],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == ""
