"""One failure-message format, with everything needed to understand and reproduce a failure."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types

from hypothesis import settings

import conformance.profiles  # noqa: F401  (registers the profiles)
from conformance.engine import MemorySink, Outcome, verify
from conformance.implementation import Implementation
from conformance.registry import ROWS_BY_NAME
from tests.harness.broken import VARIANTS

LEARNER = "tests.harness.fixtures.broken_affine"
CI = settings.get_profile("ci")


def failing_gradient_outcome() -> Outcome:
    """An Affine whose db is the batch mean: wrong numbers, never a shape error."""
    variant = next(v for v in VARIANTS if v.id == "affine-bias-mean")
    module = types.ModuleType("learner")
    module.Affine = variant.as_learner_class()  # type: ignore[attr-defined]
    return verify(ROWS_BY_NAME["Affine"], "gradient", Implementation((module,)), MemorySink(), CI)


def test_message_names_everything_a_reader_needs() -> None:
    outcome = failing_gradient_outcome()
    assert outcome.status == "fail"
    first = outcome.failing[0]
    text = first.describe()
    assert text.startswith("[FAIL] Affine · gradient · db (float64)")
    assert re.search(r"shapes +x \(\d+, \d+\) · W \(\d+, \d+\) · b \(\d+,\) · out \(\d+, \d+\)", text)
    assert re.search(r"max abs \S+ · max rel \S+ · tolerance \S+", text)
    assert re.search(r"worst +at \[\d+(, \d+)*\]: implementation \S+, reference \S+", text)
    assert re.search(r"case +N[>=]1 · (moderate|zeros)", text)
    assert re.search(r"example +N=\d+ D=\d+ H=\d+ · seed \d+", text)
    assert "replay    python -m conformance replay Affine gradient --example " in text
    assert "@reproduce_failure" in outcome.reproduce


def test_replay_command_reproduces_the_minimal_example() -> None:
    outcome = verify(ROWS_BY_NAME["Affine"], "gradient", Implementation.load(LEARNER), MemorySink(), CI)
    measurement = outcome.failing[-1]
    assert f"--impl {LEARNER}" in measurement.describe()
    command = measurement.replay_command()
    assert command.startswith("python -m conformance replay Affine gradient --example ")
    example = json.loads(command.split("--example ")[1].split(" --impl")[0].strip("'"))
    assert example == measurement.example
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "replay",
            "Affine",
            "gradient",
            "--example",
            json.dumps(example),
            "--impl",
            LEARNER,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert measurement.describe().splitlines()[0] in result.stdout
