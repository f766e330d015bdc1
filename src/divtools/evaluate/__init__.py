"""Evaluation runs: the protocol (fixed prompt list, same N per prompt, gold subsampled), metric
and scorer values per prompt, seeded bootstrap CIs, effective diversity, and reports.

Entry points: :func:`divtools.evaluate.run.run` (``run: evaluate``) and
:func:`divtools.evaluate.compare.compare_reports` (``divtools compare``). Nothing heavy is
imported here.
"""
