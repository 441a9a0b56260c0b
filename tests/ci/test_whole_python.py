"""`.ci/whole-python` passes over a Python whose standard library is broken.

CI once failed in 3 s because the machine's `python3` had an _ssl extension
built for another CPython: tox died on `import ssl`. These tests plant such an
interpreter (the running one, with an `_ssl` module on its path that raises
the same ImportError) ahead of a whole one and check which one is taken.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "whole-python"
BROKEN_SSL = "undefined symbol: _PyModule_Add"

pytestmark = pytest.mark.skipif(
    sys.version_info[:2] != (3, 11) or sys.platform != "linux",
    reason=".ci/whole-python looks for CPython 3.11 on a Linux CI machine",
)


def broken_python(tmp_path: Path) -> Path:
    """An executable that runs this interpreter with an `_ssl` that cannot load."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "_ssl.py").write_text(f"raise ImportError({BROKEN_SSL!r})\n", encoding="utf-8")
    wrapper = tmp_path / "python3.11-broken-ssl"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={shadow} exec {sys.executable} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def whole_python(venv: Path, *candidates: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [str(SCRIPT), str(venv), *candidates], capture_output=True, text=True, env=env, check=False
    )


def test_a_python_whose_ssl_cannot_load_is_passed_over_for_a_whole_one(tmp_path: Path) -> None:
    broken = broken_python(tmp_path)
    venv = tmp_path / "venv"
    result = whole_python(venv, str(tmp_path / "no-such-python"), str(broken), sys.executable)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == sys.executable
    assert f"not using {tmp_path / 'no-such-python'}: not found" in result.stderr
    assert f"not using {broken}: ImportError: {BROKEN_SSL}" in result.stderr
    made = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import ssl, pip, sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "(3, 11)"


def test_with_no_whole_python_it_fails_and_names_what_it_tried(tmp_path: Path) -> None:
    broken = broken_python(tmp_path)
    result = whole_python(tmp_path / "venv", str(broken))
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"not using {broken}: ImportError: {BROKEN_SSL}" in result.stderr
    assert "no Python 3.11 here imports ssl, venv, ensurepip and ctypes" in result.stderr
    assert f"(tried: {broken})" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_it_refuses_to_run_without_a_virtualenv_path() -> None:
    result = subprocess.run([str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "usage: .ci/whole-python VENV" in result.stderr
