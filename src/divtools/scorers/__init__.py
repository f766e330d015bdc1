"""Quality scorers (registry kind ``scorer``): (prompt, response) -> a float, higher is better.

Model-free ones live in :mod:`divtools.scorers.simple`; model-based ones import torch only when
built. Nothing heavy is imported here.
"""
