"""A Ctrl-C swallowed where Python cannot raise (a garbage-collector callback) still stops the run."""

from __future__ import annotations

import gc
import os
import signal
import sys

import pytest
from hypothesis import settings

import conformance.profiles  # noqa: F401  (registers the profiles)
import scratchnn
from conformance import interrupt
from conformance.engine import MemorySink, verify
from conformance.implementation import Implementation
from conformance.registry import ROWS_BY_NAME


@pytest.fixture
def sigint_handler() -> object:
    restore = interrupt.install()
    yield
    restore()
    interrupt._requested = False


def test_an_interrupt_swallowed_in_a_gc_callback_stops_the_next_example(
    sigint_handler: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    swallowed: list[type[BaseException] | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: swallowed.append(unraisable.exc_type))

    def send_sigint_from_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc.callbacks.remove(send_sigint_from_gc)
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs in here; its exception is unraisable

    gc.callbacks.append(send_sigint_from_gc)
    gc.collect()
    assert swallowed == [KeyboardInterrupt], (
        "Python dropped the KeyboardInterrupt, as it does in a gc callback"
    )
    assert interrupt._requested, "but the handler recorded the request"
    with pytest.raises(KeyboardInterrupt):
        verify(
            ROWS_BY_NAME["Add"],
            "forward",
            Implementation((scratchnn,)),
            MemorySink(),
            settings.get_profile("ci"),
        )
