"""Preference data: sources, cleaning, split, score transform, pair builders, deviation weights
and the ``prepare`` run (docs/method.md §2, §3, §5). Submodules import numpy at most; torch,
transformers and datasets are imported only inside the functions that need them."""
