"""The PyTorch reference of each registry row, evaluated in float64, one module per scratchnn module.

Each function takes the row's inputs and parameters as torch tensors (by name)
and the reference context (the drawn dims, and the case under ``"case"``), and
returns the output tensor (or tuple). Where PyTorch has the same formulation, it
is used directly (``torch.nn.functional`` or ``torch.nn`` modules, with weight
layouts mapped where they differ); where the book's formulation differs, the
comment says how and the reference is written from torch primitives.
"""
