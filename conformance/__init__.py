"""conformance: checks layers of the book's protocol against PyTorch and finite differences.

Run ``python -m conformance run`` (see ``conformance.cli``); the registry of
checked layers is ``conformance.registry``.
"""
