"""Runnable examples: ``python -m scratchnn.examples.<name>``."""
