"""The command line end to end, as a user runs it: exit codes, messages, reports, records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
    assert affine["outcomes"]["gradient"]["status"] in ("fail", "error")
    assert affine["outcomes"]["forward"]["status"] == "pass"
    assert {p.name for p in tmp_path.iterdir()} >= {
        "conformance.json",
        "conformance.md",
        "index.html",
        "records",
    }


def test_layers_the_learner_lacks_are_not_failures(tmp_path: Path) -> None:
    result = conformance(
        "run", "--impl", LEARNER, "--profile", "dev", "-k", "Sigmoid or Tanh", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = report_of(tmp_path)
    assert {r["status"] for r in document["rows"]} == {"not_implemented"}


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
    checks = {layer: set(r["outcomes"]) for r in document["rows"] for layer in [r["layer"]]}
    assert (
        checks["Affine"]
        == checks["Softmax"]
        == {
            "forward",
            "gradient",
            "finite_difference",
            "taylor",
            "float32",
            "contract",
            "bad_input",
        }
    )


def test_usage_errors_have_their_own_exit_codes(tmp_path: Path) -> None:
    nothing = conformance("run", "-k", "NoSuchLayer", "--out", str(tmp_path))
    assert nothing.returncode == 5
    assert "no row and check matched" in nothing.stderr
    missing = conformance("run", "--impl", "no_such_module", "--out", str(tmp_path))
    assert missing.returncode == 4
    assert "cannot import implementation module 'no_such_module'" in missing.stderr


def test_list_shows_rows_and_what_the_implementation_has() -> None:
    result = conformance("list", "--impl", LEARNER)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert any(line.split()[0] == "Affine" and LEARNER in line for line in lines if line.startswith("  "))
    assert any(
        line.split()[0] == "Sigmoid" and "not implemented" in line for line in lines if line.startswith("  ")
    )


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
    assert document["summary"]["measurements"] > 0
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
