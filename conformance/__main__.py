"""``python -m conformance``: see :mod:`conformance.cli`."""

import os
import sys

from conformance.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # The reader of a pipe went away (``python -m conformance list | head``): stop quietly.
    # Python's signal documentation: point stdout at devnull so the flush at exit cannot fail again.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
sys.exit(code)
