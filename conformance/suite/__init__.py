"""The conformance suite: one pytest test per (registry row, check)."""
