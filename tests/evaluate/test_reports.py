"""Reporters: the plot files are valid PNG/SVG of the expected size whose axes show the report's
numbers; report.md holds the table; ``divtools compare`` merges reports without changing a number."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from divtools.errors import UserError
from evaluate_data import gold_rows, load, run_spec, write_jsonl


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, checking the signature and the chunk's CRC."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16:16 + length]
    (crc,) = struct.unpack(">I", data[16 + length:20 + length])
    assert zlib.crc32(kind + body) == crc
    assert data.endswith(b"IEND\xaeB`\x82")
    width, height = struct.unpack(">II", body[:8])
    return width, height


def _spec(gens: Path, **extra) -> dict:
    spec = {
        "run": "evaluate",
        "generations": {"path": gens.name},
        "metrics": [{"kind": "distinct_n", "n": 2, "label": "d2"}, {"kind": "distinct_n", "n": 1, "label": "d1"},
                    {"kind": "length_spread"}],
        "scorers": [{"kind": "dataset_score", "label": "quality"}],
        "output": {"dir": "out"},
    }
    spec.update(extra)
    return spec


def test_plot_is_a_png_of_the_expected_size_with_the_main_panel(gens, tmp_path):
    spec = _spec(gens, reporters=[{"kind": "json"}, {"kind": "plot", "dpi": 50, "width": 3, "height": 2}])
    report = load(run_spec(spec, tmp_path))
    out = tmp_path / "out"
    assert _png_size(out / "quality_vs_diversity.png") == (3 * 50, 2 * 50)
    svg = (out / "quality_vs_diversity.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert (out / "quality_vs_diversity_grid.png").exists()  # 3 metrics x 1 scorer: the all-pairs grid
    assert not (out / "report.md").exists()  # only the reporters asked for

    from divtools.builtins.reporters import PlotReporterParams
    from divtools.reporters.plot_report import pairs_grid_figure, quality_vs_diversity_figure

    params = PlotReporterParams(dpi=50)
    fig = quality_vs_diversity_figure(report, params)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "d2 (more diverse →)" and ax.get_ylabel() == "quality (better ↑)"
    # one point per system at (mean diversity, mean quality) with CI bars on both axes
    assert len(ax.containers) == 2
    for container, system in zip(ax.containers, ["diverse", "echo"]):
        x, y = container.lines[0].get_data()
        res = report["results"][system]
        assert (x[0], y[0]) == pytest.approx((res["d2"]["mean"], res["quality"]["mean"]))
        assert container.has_xerr and container.has_yerr
        segments = [np.asarray(c.get_segments()[0]) for c in container.lines[2]]
        flat = [v for seg in segments for v in seg.ravel()]
        for bound in (*res["d2"]["ci95"], *res["quality"]["ci95"]):
            assert min(abs(bound - v) for v in flat) < 1e-9
    assert sorted(t.get_text() for t in ax.texts) == ["diverse", "echo"]  # labelled points
    grid = pairs_grid_figure(report, params)
    assert [a.get_xlabel() for a in grid.axes if a.get_visible()] == ["d2 →", "d1 →", "length_spread →"]


def test_plot_without_scorers_shows_diversity_per_system(gens, tmp_path):
    spec = _spec(gens, scorers=[], reporters=[{"kind": "plot", "formats": ["png"], "dpi": 40}])
    report = load(run_spec(spec, tmp_path))
    out = tmp_path / "out"
    assert _png_size(out / "quality_vs_diversity.png") == (int(3.346 * 40), int(2.6 * 40))
    assert not (out / "quality_vs_diversity.svg").exists()
    assert not (out / "quality_vs_diversity_grid.png").exists()  # no scorer, no pairs
    from divtools.builtins.reporters import PlotReporterParams
    from divtools.reporters.plot_report import quality_vs_diversity_figure

    fig = quality_vs_diversity_figure(report, PlotReporterParams())
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["diverse", "echo"]


def test_effective_diversity_plot(gens, tmp_path):
    spec = _spec(gens, effective_diversity={"quantiles": 3, "metrics": ["d2"]},
                 reporters=[{"kind": "plot", "formats": ["png"], "dpi": 40}])
    report = load(run_spec(spec, tmp_path))
    assert _png_size(tmp_path / "out" / "effective_diversity.png") == (int(3.346 * 40), int((1.7 + 0.5) * 40))
    from divtools.builtins.reporters import PlotReporterParams
    from divtools.reporters.plot_report import effective_diversity_figure

    fig = effective_diversity_figure(report, PlotReporterParams())
    (ax,) = [a for a in fig.axes if a.get_visible()]
    assert ax.get_ylabel() == "d2 ↑"
    line = ax.get_lines()[0]
    curves = report["effective_diversity"]["systems"]["diverse"]
    assert list(line.get_xdata()) == pytest.approx([p["mean"] for p in curves["share"]])  # x: share passing
    assert list(line.get_ydata()) == pytest.approx([p["mean"] for p in curves["d2"]])


def test_markdown_table(gens, tmp_path):
    run_spec(_spec(gens), tmp_path)
    report = load(tmp_path / "out" / "report.json")
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| system | prompts | d2 ↑ | d1 ↑ | length_spread ↑ | quality |" in md
    mean = report["results"]["echo"]["d2"]["mean"]
    low, high = report["results"]["echo"]["d2"]["ci95"]
    assert f"| echo | 8 | {mean:.3f} [{low:.3f}, {high:.3f}] |" in md  # 0.xyz: 3 significant digits
    assert "N = 4 samples per prompt (inferred); 8 prompts" in md


def _two_reports(tmp_path: Path, gens: Path) -> tuple[Path, Path]:
    rows = [json.loads(line) for line in gens.read_text().splitlines()]
    write_jsonl(tmp_path / "a.jsonl", [r for r in rows if r["system"] == "diverse"])
    write_jsonl(tmp_path / "b.jsonl", [r for r in rows if r["system"] == "echo"])
    write_jsonl(tmp_path / "gold.jsonl", gold_rows([5] * 8))
    common = {"gold": {"path": "gold.jsonl"}, "samples_per_prompt": 4,
              "effective_diversity": {"thresholds": [0, 2]}, "reporters": [{"kind": "json"}]}
    a = run_spec(_spec(tmp_path / "a.jsonl", output={"dir": "ra"}, **common), tmp_path)
    b = run_spec(_spec(tmp_path / "b.jsonl", output={"dir": "rb"}, seed=1, **common), tmp_path)
    return a, b


def test_compare_gives_the_same_numbers_as_each_report_alone(gens, tmp_path):
    from click.testing import CliRunner

    from divtools.cli.main import cli

    a, b = _two_reports(tmp_path, gens)
    result = CliRunner().invoke(cli, ["compare", str(a.parent), str(b), "--out", str(tmp_path / "both")])
    assert result.exit_code == 0, result.output
    merged = load(tmp_path / "both" / "report.json")
    ra, rb = load(a), load(b)
    # the gold system differs between the runs (seed 0 vs 1 subsamples): both kept, the second renamed
    assert merged["order"]["systems"] == ["human", "diverse", "human@rb", "echo"]
    assert merged["results"]["diverse"] == ra["results"]["diverse"]
    assert merged["results"]["human"] == ra["results"]["human"]
    assert merged["results"]["echo"] == rb["results"]["echo"]
    assert merged["results"]["human@rb"] == rb["results"]["human"]
    assert merged["effective_diversity"]["systems"]["echo"] == rb["effective_diversity"]["systems"]["echo"]
    assert merged["protocol"]["prompt_ids"] == ra["protocol"]["prompt_ids"]
    assert [m["path"] for m in merged["merged_from"]] == [str(a), str(b)]
    md = (tmp_path / "both" / "report.md").read_text()
    for system, res in (("diverse", ra), ("echo", rb)):
        entry = res["results"][system]["d2"]
        assert f"{entry['mean']:.3g} [{entry['ci95'][0]:.3g}, {entry['ci95'][1]:.3g}]" in md
    assert "seed 0 / 1 (per report)" in md
    assert _png_size(tmp_path / "both" / "quality_vs_diversity.png")[0] > 0
    # the same report twice: identical systems are kept once
    again = load(__import__("divtools.evaluate.compare", fromlist=["x"]).compare_reports([a, a], tmp_path / "self"))
    assert again["order"]["systems"] == ["human", "diverse"] and again["results"] == ra["results"]


def test_compare_refuses_other_prompts_other_n_and_clashing_labels(gens, tmp_path):
    from divtools.evaluate.compare import compare_reports

    a, b = _two_reports(tmp_path, gens)
    json_only = [{"kind": "json"}]
    other_n = run_spec(_spec(tmp_path / "b.jsonl", output={"dir": "rn"}, samples_per_prompt=3, reporters=json_only), tmp_path)
    with pytest.raises(UserError, match="N = 3 samples per prompt"):
        compare_reports([a, other_n], tmp_path / "x")
    fewer = run_spec(_spec(tmp_path / "b.jsonl", output={"dir": "rp"}, prompts={"limit": 5}, reporters=json_only), tmp_path)
    with pytest.raises(UserError, match="evaluated other prompts"):
        compare_reports([fewer, b], tmp_path / "x")
    spec = _spec(tmp_path / "b.jsonl", output={"dir": "rl"}, gold={"path": "gold.jsonl"}, samples_per_prompt=4,
                 reporters=json_only)
    spec["metrics"][0]["n"] = 3  # 'd2' now means distinct-3
    clash = run_spec(spec, tmp_path)
    with pytest.raises(UserError, match="label 'd2' means"):
        compare_reports([a, clash], tmp_path / "x")
    with pytest.raises(UserError, match="would overwrite the input report"):
        compare_reports([a, b], a.parent)
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(UserError, match="not a divtools evaluation report"):
        compare_reports([tmp_path / "junk.json"], tmp_path / "x")
    assert not (tmp_path / "x").exists() or not (tmp_path / "x" / "report.json").exists()


def test_compare_keeps_one_gold_row_when_reports_have_different_metrics(gens, tmp_path):
    """Two runs on the same gold data (same seed, same subsample) with different metrics: the
    merged report has one gold row holding both runs' labels, each number copied unchanged."""
    from divtools.evaluate.compare import compare_reports

    rows = [json.loads(line) for line in gens.read_text().splitlines()]
    write_jsonl(tmp_path / "a.jsonl", [r for r in rows if r["system"] == "diverse"])
    write_jsonl(tmp_path / "b.jsonl", [r for r in rows if r["system"] == "echo"])
    write_jsonl(tmp_path / "gold.jsonl", gold_rows([5] * 8))
    common = {"gold": {"path": "gold.jsonl"}, "samples_per_prompt": 4, "reporters": [{"kind": "json"}], "scorers": []}
    a = run_spec(_spec(tmp_path / "a.jsonl", output={"dir": "ra"}, metrics=[{"kind": "distinct_n", "n": 1, "label": "d1"}],
                       **common), tmp_path)
    b = run_spec(_spec(tmp_path / "b.jsonl", output={"dir": "rb"}, metrics=[{"kind": "distinct_n", "n": 1, "label": "d1"},
                                                                            {"kind": "distinct_n", "n": 2, "label": "d2"}],
                       **common), tmp_path)
    ra, rb = load(a), load(b)
    assert set(ra["results"]["human"]) == {"d1"} and set(rb["results"]["human"]) == {"d1", "d2"}
    merged = load(compare_reports([a, b], tmp_path / "both"))
    assert merged["order"]["systems"] == ["human", "diverse", "echo"]  # no "human@rb"
    assert merged["results"]["human"] == {"d1": ra["results"]["human"]["d1"], "d2": rb["results"]["human"]["d2"]}
    assert merged["results"]["diverse"] == ra["results"]["diverse"]
    assert merged["results"]["echo"] == rb["results"]["echo"]
