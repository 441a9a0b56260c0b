"""Performance benchmarks of scratchnn and the conformance harness (DESIGN.md §7).

Run with ``python -m benchmarks [--quick] [--out FILE.json]``; see benchmarks/README.md.
"""
