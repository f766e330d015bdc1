"""The paper specs use the conventions the paper's numbers were computed with."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from divtools.components import build
from divtools.metrics.compression import PACKAGE_MTIME
from divtools.spec.loading import load_spec
from tests.metrics.test_ngram_metrics import package_compression_ratio

PAPER = Path(__file__).parents[2] / "examples" / "paper"


def test_paper_evaluate_compression_ratio_is_the_packages_convention():
    """The appendix's compression ratio comes from the `diversity` package, which gzips twice:
    the metric the paper spec builds gives the package's own value, not divtools' default."""
    spec = load_spec(PAPER / "evaluate.yaml", check_paths=False)
    (entry,) = [m for m in spec.metrics if m.kind == "compression_ratio"]
    metric = build("metric", entry)
    texts = ["Once upon a time a fox met a crow.", "The crow had cheese.", "The fox, hungry, flattered her."]
    with mock.patch("time.time", return_value=PACKAGE_MTIME):
        expected = package_compression_ratio(texts)
    assert metric.group(texts).diversity == pytest.approx(expected, abs=1e-12)
    once = build("metric", type(entry)(kind="compression_ratio")).group(texts).diversity
    assert abs(once - expected) > 0.05  # the two conventions really differ here
