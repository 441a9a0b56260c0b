"""pytest plugin of the conformance suite: options, the implementation under test, records, progress.

Loaded by ``python -m conformance run``; to use pytest directly::

    pytest -p conformance.pytest_plugin --pyargs conformance.suite --impl mylayers [-n 2]

Options: ``--impl MODULE[,MODULE...]`` (default: ``SCRATCHNN_IMPL`` or scratchnn),
``--alias ROW=NAME`` (repeatable), ``--checks correctness|robustness|all|NAME,...``,
``--records DIR`` (write JSON-lines records there), ``--max-size N`` (a cap on every
drawn size); the Hypothesis profile comes from ``--hypothesis-profile`` or
``HYPOTHESIS_PROFILE``. While it runs, one line per (row, check) as it finishes
(also with pytest-xdist, on the controller), unless ``CONFORMANCE_QUIET`` is set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import interrupt, profiles
from conformance.engine import MemorySink, Sink
from conformance.implementation import Implementation, ImplementationNotFound
from conformance.records import JsonLinesSink
from conformance.settings import ALIAS_ENV, CHECKS_ENV, IMPL_ENV, MAX_SIZE_ENV, quiet


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "scratchnn conformance harness")
    group.addoption("--impl", default=None, help=f"implementation modules, comma-separated (env {IMPL_ENV})")
    group.addoption(
        "--alias",
        action="append",
        default=None,
        metavar="ROW=NAME",
        help=f"map a row to a class name ({ALIAS_ENV})",
    )
    group.addoption(
        "--checks", default=None, help=f"correctness, robustness, all or check names ({CHECKS_ENV})"
    )
    group.addoption("--records", default=None, help="directory for the JSON-lines records of this run")
    group.addoption(
        "--max-size", type=int, default=None, help=f"cap on every drawn dimension (env {MAX_SIZE_ENV})"
    )


def pytest_configure(config: pytest.Config) -> None:
    # Set before the suite module is imported: it reads the check selection at collection.
    for option, variable in (("--impl", IMPL_ENV), ("--checks", CHECKS_ENV)):
        value = config.getoption(option)
        if value:
            os.environ[variable] = value
    alias = config.getoption("--alias")
    if alias:
        os.environ[ALIAS_ENV] = ",".join(alias)
    max_size = config.getoption("--max-size")
    if max_size is not None:
        os.environ[MAX_SIZE_ENV] = str(max_size)
    if not config.getoption("--hypothesis-profile", default=None):
        profiles.load_selected_profile()
    config.add_cleanup(interrupt.install())


@pytest.fixture(scope="session")
def conformance_implementation() -> Implementation:
    try:
        return Implementation.load()
    except (ImplementationNotFound, ValueError) as error:
        pytest.exit(str(error), returncode=4)


def worker_name(config: pytest.Config) -> str:
    """``gw0``, ``gw1`` ... in a pytest-xdist worker, else ``main``. Read from pytest's own
    config: the PYTEST_XDIST_WORKER variable leaks into any process a worker starts."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"


@pytest.fixture(scope="session")
def conformance_sink(
    pytestconfig: pytest.Config, conformance_implementation: Implementation
) -> Iterator[Sink]:
    directory = pytestconfig.getoption("--records")
    if not directory:
        yield MemorySink()
        return
    sink = JsonLinesSink(Path(directory), worker_name(pytestconfig), conformance_implementation.spec)
    yield sink
    sink.close()


def pytest_collection_finish(session: pytest.Session) -> None:
    directory = session.config.getoption("--records")
    if not directory:
        return
    from conformance.registry import ROWS_BY_NAME

    tests = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and {"row_name", "check"} <= callspec.params.keys():
            tests.append((str(callspec.params["row_name"]), str(callspec.params["check"])))
    declared = {layer: ROWS_BY_NAME[layer].declarations() for layer, _ in tests if layer in ROWS_BY_NAME}
    sink = JsonLinesSink(Path(directory), worker_name(session.config))
    sink.planned(tests, declared)
    sink.close()


def _summary(report: pytest.TestReport) -> dict[str, Any] | None:
    for name, value in report.user_properties:
        if name == "conformance":
            return json.loads(str(value))  # type: ignore[no-any-return]
    return None


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    """No progress dots for the suite's tests: the plugin prints a line per test instead."""
    if _summary(report) is not None and report.when == "call":
        return report.outcome, "", report.outcome.upper()
    return None


def progress_line(summary: dict[str, Any]) -> list[str]:
    """``Affine · gradient   pass   4 cases   60 examples   0.3 s``, and for a check that did
    not pass, one line per case."""
    cases = f"{summary['cases']} case{'s' if summary['cases'] != 1 else ''}" if summary["cases"] else ""
    examples = f"{summary['examples']} examples" if summary["cases"] else ""
    head = (
        f"{summary['layer'] + ' · ' + summary['check']:<42} {summary['status']:<18} {cases:>9}"
        f" {examples:>13} {summary['seconds']:6.1f} s"
    )
    lines = [head.rstrip()]
    if not summary["cases"] and summary["status"] not in ("pass", "skipped"):
        lines.append(f"    {summary['message']}")
    lines += [f"    {line}" for line in summary["lines"]]
    return lines


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    summary = _summary(report)
    if summary is None or report.when != "call" or quiet():
        return
    if summary["status"] == "skipped" and not summary["cases"]:
        return  # a check that does not apply to the row: the report says why
    reporter = _REPORTER.get("terminal")
    if reporter is None:
        return
    reporter.ensure_newline()
    for line in progress_line(summary):
        reporter.write_line(line)


_REPORTER: dict[str, Any] = {}


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _REPORTER["terminal"] = session.config.pluginmanager.get_plugin("terminalreporter")
