"""End to end: a tiny causal LM built in the test generates K samples per prompt through the
transformers backend, a tiny reward model scores them, and report.json, report.md and the plots
are produced (the PNG's size and the figure's axes checked)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluate_data import gold_rows, load, prompt_text, run_spec, write_jsonl

pytestmark = pytest.mark.slow

K = 3
PROMPTS = 4


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> tuple[Path, Path]:
    from divtools.models.tiny import build_tiny_causal_lm, build_tiny_sequence_classifier, default_texts

    root = tmp_path_factory.mktemp("tiny")
    lm = build_tiny_causal_lm(default_texts(), root / "lm")
    rm = build_tiny_sequence_classifier(default_texts(), root / "rm", seed=3)
    return Path(lm), Path(rm)


def test_generate_score_and_report(tiny_models, tmp_path):
    lm, rm = tiny_models
    write_jsonl(tmp_path / "prompts.jsonl", [{"prompt_id": f"q{p}", "prompt": prompt_text(p)} for p in range(PROMPTS)])
    write_jsonl(tmp_path / "gold.jsonl", gold_rows([5, 2, 4, 6]))
    spec = {
        "run": "evaluate",
        "seed": 7,
        "prompts": {"path": "prompts.jsonl"},
        "gold": {"path": "gold.jsonl", "name": "human"},
        "systems": [{"name": "tiny", "backend": {"kind": "transformers", "model": str(lm), "max_new_tokens": 12,
                                                 "batch_size": 2, "device": "cpu"}}],
        "samples_per_prompt": K,
        "metrics": [{"kind": "distinct_n", "n": 1, "label": "d1"}, {"kind": "distinct_n", "n": 2, "label": "d2"}],
        "scorers": [{"kind": "reward_model", "model": str(rm), "label": "reward", "device": "cpu"},
                    {"kind": "length"}],
        "effective_diversity": {"quality": "reward", "quantiles": 3},
        "reporters": [{"kind": "json"}, {"kind": "markdown"}, {"kind": "plot", "dpi": 40}],
        "output": {"dir": "out"},
    }
    report_path = run_spec(spec, tmp_path)
    out = tmp_path / "out"
    report = load(report_path)

    # protocol: q1 has 2 < K gold responses, so it is dropped for every system (and not generated)
    assert report["protocol"]["dropped_prompts"] == {"q1": 2}
    kept = ["q0", "q2", "q3"]
    assert report["protocol"]["prompt_ids"] == kept
    generated = [json.loads(line) for line in (out / "generations" / "tiny.jsonl").read_text().splitlines()]
    assert sorted((r["prompt_id"], r["sample"]) for r in generated) == [(p, k) for p in kept for k in range(K)]
    assert all(r["system"] == "tiny" and isinstance(r["response"], str) for r in generated)
    assert report["systems"]["tiny"]["role"] == "generated"
    assert report["systems"]["tiny"]["source"]["backend"] == "transformers"

    # the reward scores are the reward model's on the generated texts (paper template)
    from divtools.builtins.scorers import RewardModelParams
    from divtools.scorers.reward_model import RewardModelScorer

    scorer = RewardModelScorer(RewardModelParams(model=str(rm), device="cpu"))
    for pid in kept:
        rows = sorted((r for r in generated if r["prompt_id"] == pid), key=lambda r: r["sample"])
        direct = scorer.score([r["prompt"] for r in rows], [r["response"] for r in rows])
        assert report["results"]["tiny"]["reward"]["per_prompt"][pid] == pytest.approx(float(np.mean(direct)), abs=1e-5)
    for system in ("human", "tiny"):
        for label in ("d1", "d2", "reward", "length"):
            entry = report["results"][system][label]
            assert entry["n_prompts"] == 3 and sorted(entry["per_prompt"]) == kept
            assert entry["ci95"][0] <= entry["mean"] <= entry["ci95"][1]
    assert report["effective_diversity"]["systems"]["tiny"]["share"][0]["mean"] == pytest.approx(1.0)
    plugins = report["versions"]["plugins"]
    assert plugins["divtools.builtins.backends"] == plugins["divtools.builtins.scorers"] == report["versions"]["divtools"]
    import torch
    import transformers

    # the libraries that generated and scored are named with their versions
    assert report["versions"]["torch"] == torch.__version__
    assert report["versions"]["transformers"] == transformers.__version__

    # report.md and the plots
    md = (out / "report.md").read_text()
    # the gold system is marked as human data unless its name says so already (reporters.display_name)
    assert "| human | 3 |" in md and "| tiny | 3 |" in md and "reward" in md
    from divtools.builtins.reporters import PlotReporterParams as PlotReporterDefaults

    png = (out / "quality_vs_diversity.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width == int(PlotReporterDefaults().width * 40)  # one paper column (85 mm) at the spec's dpi 40
    from divtools.builtins.reporters import PlotReporterParams
    from divtools.reporters.plot_report import quality_vs_diversity_figure

    # the paper's panel: the main quality scorer (reward, never length) against the first metric
    fig = quality_vs_diversity_figure(report, PlotReporterParams())
    (ax,) = fig.axes
    assert ax.get_xlabel().split()[0] == "d1" and ax.get_ylabel().startswith("reward")
    assert (out / "effective_diversity.svg").exists()

    # a rerun of the same spec resumes: nothing is regenerated, the report is the same
    before = (out / "generations" / "tiny.jsonl").read_bytes()
    again = load(run_spec(spec, tmp_path))
    assert (out / "generations" / "tiny.jsonl").read_bytes() == before
    assert again["results"] == report["results"]


def test_interrupted_generation_resumes_without_regenerating(tiny_models, tmp_path, monkeypatch):
    from divtools.generation.transformers_backend import TransformersBackend

    lm, _ = tiny_models
    write_jsonl(tmp_path / "prompts.jsonl", [{"prompt_id": f"q{p}", "prompt": prompt_text(p)} for p in range(PROMPTS)])
    spec = {
        "run": "evaluate",
        "prompts": {"path": "prompts.jsonl"},
        "systems": [{"name": "tiny", "num_samples": 2,
                     "backend": {"kind": "transformers", "model": str(lm), "max_new_tokens": 8, "batch_size": 2,
                                 "device": "cpu"}}],
        "metrics": [{"kind": "distinct_n", "n": 1}],
        "reporters": [{"kind": "json"}],
        "output": {"dir": "out"},
    }
    original = TransformersBackend.generate
    calls: list[int] = []

    def interrupted(self, prompts, *, num_samples, seed):
        calls.append(len(prompts))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user presses Ctrl-C during the second batch
        return original(self, prompts, num_samples=num_samples, seed=seed)

    monkeypatch.setattr(TransformersBackend, "generate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_spec(spec, tmp_path)
    out = tmp_path / "out"
    assert not (out / "report.json").exists()
    partial = (out / "generations" / "tiny.jsonl").read_bytes()
    assert sorted({json.loads(line)["prompt_id"] for line in partial.splitlines()}) == ["q0", "q1"]

    monkeypatch.setattr(TransformersBackend, "generate", lambda self, prompts, **kw: (calls.append(len(prompts)), original(self, prompts, **kw))[1])
    report = load(run_spec(spec, tmp_path))
    assert calls == [2, 2, 2]  # only the second batch (q2, q3) was generated again
    final = (out / "generations" / "tiny.jsonl").read_bytes()
    assert final.startswith(partial)
    keys = [(json.loads(line)["prompt_id"], json.loads(line)["sample"]) for line in final.splitlines()]
    assert sorted(keys) == [(f"q{p}", k) for p in range(PROMPTS) for k in range(2)]
    assert report["results"]["tiny"]["distinct_n"]["n_prompts"] == PROMPTS
    assert report["protocol"]["samples_per_prompt"] == 2  # N from the backend system's num_samples


def test_restart_after_a_metric_change_reuses_the_generated_samples(tiny_models, tmp_path):
    """on_existing: restart discards the report, not the generations: the driver checks their
    settings, so adding a metric costs no generation (no GPU hours thrown away)."""
    from divtools.errors import UserError

    lm, _ = tiny_models
    write_jsonl(tmp_path / "prompts.jsonl", [{"prompt_id": f"q{p}", "prompt": prompt_text(p)} for p in range(2)])
    spec = {
        "run": "evaluate", "seed": 1, "prompts": {"path": "prompts.jsonl"}, "samples_per_prompt": 2,
        "systems": [{"name": "tiny", "backend": {"kind": "transformers", "model": str(lm), "max_new_tokens": 6}}],
        "metrics": [{"kind": "distinct_n", "n": 1}], "reporters": [{"kind": "json"}], "bootstrap_samples": 100,
        "output": {"dir": "out"},
    }
    run_spec(spec, tmp_path)
    samples = tmp_path / "out" / "generations" / "tiny.jsonl"
    before = (samples.read_bytes(), samples.stat().st_mtime_ns)
    spec["metrics"].append({"kind": "distinct_n", "n": 2, "label": "d2"})
    with pytest.raises(UserError, match="restart keeps generations"):
        run_spec(spec, tmp_path)
    spec["output"]["on_existing"] = "restart"
    report = load(run_spec(spec, tmp_path))
    assert (samples.read_bytes(), samples.stat().st_mtime_ns) == before
    assert report["results"]["tiny"]["d2"]["n_prompts"] == 2
    # a changed generation setting is not silently reused: the driver refuses the old file
    spec["systems"][0]["backend"]["max_new_tokens"] = 7
    with pytest.raises(UserError):
        run_spec(spec, tmp_path)
