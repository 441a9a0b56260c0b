"""pytest plugin of the conformance suite: options, the implementation under test, records.

Loaded by ``python -m conformance run``; to use pytest directly::

    pytest -p conformance.pytest_plugin --pyargs conformance.suite --impl mylayers [-n 2]

Options: ``--impl MODULE[,MODULE...]`` (default: ``SCRATCHNN_IMPL`` or scratchnn),
``--records DIR`` (write JSON-lines records there), ``--max-size N`` (the size cap);
the Hypothesis profile comes from ``--hypothesis-profile`` or ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import interrupt, profiles
from conformance.engine import MemorySink, Sink
from conformance.implementation import Implementation, ImplementationNotFound
from conformance.records import JsonLinesSink
from conformance.settings import IMPL_ENV, MAX_SIZE_ENV


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "scratchnn conformance harness")
    group.addoption("--impl", default=None, help=f"implementation modules, comma-separated (env {IMPL_ENV})")
    group.addoption("--records", default=None, help="directory for the JSON-lines records of this run")
    group.addoption(
        "--max-size", type=int, default=None, help=f"cap on every drawn dimension (env {MAX_SIZE_ENV})"
    )


def pytest_configure(config: pytest.Config) -> None:
    impl = config.getoption("--impl")
    if impl:
        os.environ[IMPL_ENV] = impl
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
    except ImplementationNotFound as error:
        pytest.exit(str(error), returncode=4)


def worker_name(config: pytest.Config) -> str:
    """``gw0``, ``gw1`` ... in a pytest-xdist worker, else ``main``. Read from pytest's own
    config: the PYTEST_XDIST_WORKER variable leaks into any process a worker starts."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"


@pytest.fixture(scope="session")
def conformance_sink(pytestconfig: pytest.Config) -> Iterator[Sink]:
    directory = pytestconfig.getoption("--records")
    if not directory:
        yield MemorySink()
        return
    sink = JsonLinesSink(Path(directory), worker_name(pytestconfig))
    yield sink
    sink.close()


def pytest_collection_finish(session: pytest.Session) -> None:
    directory = session.config.getoption("--records")
    if not directory:
        return
    tests = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and {"row_name", "check"} <= callspec.params.keys():
            tests.append((str(callspec.params["row_name"]), str(callspec.params["check"])))
    sink = JsonLinesSink(Path(directory), worker_name(session.config))
    sink.planned(tests)
    sink.close()
