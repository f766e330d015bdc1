"""Report writers (registry kind ``reporter``): ``json``, ``markdown`` and ``plot``.

Each takes the evaluation report (the dict ``report.json`` holds) and an output folder, and
returns the files it wrote. :mod:`divtools.evaluate.publish` runs them all-or-nothing.
"""
