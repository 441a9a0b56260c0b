"""The built wheel, installed in a fresh virtualenv, run from a directory outside the repository.

The rest of the tests import the source tree, which hides packaging mistakes (a
file the wheel does not ship, a module found only because the repository is on
the path). Here the package is built as a wheel and installed into a new
virtualenv; its third-party dependencies (NumPy, PyTorch, Hypothesis, pytest)
are borrowed from the running environment through a ``.pth`` file placed after
the virtualenv's own site-packages, so the scratchnn and conformance that run
are the wheel's. A learner's module with one correct and one broken layer is
then checked from a temporary directory, as a learner would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LEARNER_MODULE = """
import numpy as np


class Sigmoid:  # the book's: right
    def __init__(self):
        self.params, self.grads = [], []
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class Affine:  # the bug: dx = dout @ W
    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = self.params
        self.x = x
        return np.dot(x, W) + b

    def backward(self, dout):
        W, b = self.params
        self.grads[0][...] = np.dot(self.x.T, dout)
        self.grads[1][...] = np.sum(dout, axis=0)
        return np.dot(dout, W)
"""


def _run(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _clean_copy(target: Path) -> Path:
    """The project's files (those git tracks, and new ones it does not ignore) without build
    leftovers: a ``build/`` directory from an earlier build would put files into the wheel that
    the packaging configuration leaves out."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in listed.stdout.splitlines():
        source = ROOT / name
        if source.is_file():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(the fresh virtualenv's bin directory, an environment to run it with)."""
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    source = _clean_copy(base / "source")
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            *isolation,
            "--wheel-dir",
            str(base / "dist"),
            str(source),
        ],
        base,
        env,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (base / "dist").glob("scratchnn-*.whl")
    venv.create(base / "venv", with_pip=True)
    bin_dir = base / "venv" / ("Scripts" if sys.platform == "win32" else "bin")
    installed = _run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], base, env
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    purelib = _run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        base,
        env,
    )
    borrowed = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    (Path(purelib.stdout.strip()) / "zz_borrowed_dependencies.pth").write_text(
        "\n".join(dict.fromkeys(borrowed)) + "\n"
    )
    return bin_dir, env


@pytest.fixture
def learner_directory(tmp_path: Path) -> Path:
    (tmp_path / "mylayers.py").write_text(LEARNER_MODULE, encoding="utf-8")
    return tmp_path


def test_the_packages_that_run_are_the_wheels(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    bin_dir, env = installed
    where = _run(
        [
            str(bin_dir / "python"),
            "-c",
            "import conformance, scratchnn; print(conformance.__file__, scratchnn.__file__)",
        ],
        tmp_path,
        env,
    )
    assert where.returncode == 0, where.stderr
    assert all(str(bin_dir.parent) in path for path in where.stdout.split()), where.stdout


def test_a_learner_module_is_checked_from_its_own_directory(
    installed: tuple[Path, dict[str, str]], learner_directory: Path
) -> None:
    bin_dir, env = installed
    args = ["run", "--impl", "mylayers", "--checks", "correctness", "--profile", "ci"]
    args += ["-k", "(Sigmoid or Affine) and not Loss"]
    result = _run([str(bin_dir / "python"), "-m", "conformance", *args], learner_directory, env)
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads((learner_directory / "reports" / "conformance.json").read_text(encoding="utf-8"))
    by_layer = {row["layer"]: row for row in document["rows"]}
    assert by_layer["Affine"]["checks"]["gradient"]["status"] in ("fail", "error")
    assert by_layer["Sigmoid"]["status"] == "pass"
    assert "Affine · gradient" in result.stdout
    assert "correctness: 1 layer disagrees: Affine" in result.stdout
    assert "interrupted" not in result.stdout + result.stderr


def test_the_console_script_lists_replays_reports_and_selects_nothing(
    installed: tuple[Path, dict[str, str]], learner_directory: Path
) -> None:
    bin_dir, env = installed
    script = str(bin_dir / "conformance")
    listing = _run([script, "list", "--impl", "mylayers"], learner_directory, env)
    assert listing.returncode == 0, listing.stderr
    assert any(
        line.split()[0] == "Affine" and "mylayers.Affine" in line
        for line in listing.stdout.splitlines()
        if line.strip()
    )
    nothing = _run([script, "run", "--impl", "mylayers", "-k", "NoSuchLayer"], learner_directory, env)
    assert nothing.returncode == 5, nothing.stdout + nothing.stderr
    assert "no row and check matched" in nothing.stderr
    run = _run(
        [script, "run", "--impl", "mylayers", "--profile", "dev", "-k", "Affine and gradient"],
        learner_directory,
        env,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    replay = next(
        line.split("replay    ", 1)[1] for line in run.stdout.splitlines() if "replay    python -m" in line
    )
    command = replay.replace("python -m conformance", f"{bin_dir / 'python'} -m conformance", 1)
    again = _run(["sh", "-c", command], learner_directory, env)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "[FAIL] Affine · gradient" in again.stdout or "[ERROR] Affine · gradient" in again.stdout
    rebuilt = _run(
        [script, "report", "--records", "reports/records", "--out", "rebuilt"], learner_directory, env
    )
    assert rebuilt.returncode == 1, rebuilt.stdout + rebuilt.stderr
    assert (learner_directory / "rebuilt" / "index.html").stat().st_size > 0
