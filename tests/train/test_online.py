"""``run: online``: iterated on-policy DDPO on the tiny model, resume after a failure in round 2,
and the Goodhart guard."""

from __future__ import annotations

import json

import pytest

from divtools.errors import UserError


def _goodhart(training, evaluation):
    from divtools.train.goodhart import overlaps

    return overlaps(training, evaluation)


def test_goodhart_guard_names_shared_metrics_embedders_and_scorers():
    minilm = {"kind": "minilm"}
    # the same metric (labels and cache settings do not make it another one)
    same = _goodhart({"metrics[0]": {"kind": "distinct_n", "n": 2, "label": "d2"}},
                     {"eval.metrics[0]": {"kind": "distinct_n", "n": 2, "label": "other"}})
    assert same == [{"training": "metrics[0]", "evaluation": "eval.metrics[0]", "component": "distinct_n"}]
    # another metric on the same embedder: the embedder is named, once
    shared = _goodhart({"metrics[0]": {"kind": "embedding_diversity", "embedder": minilm}},
                       {"eval.metrics[1]": {"kind": "vendi", "embedder": {**minilm, "cache": False}}})
    assert shared == [{"training": "metrics[0].embedder", "evaluation": "eval.metrics[1].embedder", "component": "minilm"}]
    # a scorer nested in utility_k
    nested = _goodhart({"scorer": {"kind": "length"}}, {"eval.metrics[0]": {"kind": "utility_k", "quality": {"kind": "length"}}})
    assert [f["evaluation"] for f in nested] == ["eval.metrics[0].quality"]
    # held out: nothing shared
    assert _goodhart({"metrics[0]": {"kind": "distinct_n", "n": 2}}, {"eval.metrics[0]": {"kind": "distinct_n", "n": 3},
                                                                    "eval.metrics[1]": {"kind": "self_bleu"}}) == []


def _data(tmp_path, lm, prompts, **over):
    data = {"run": "online", "rounds": 2, "model": str(lm), "prompts": str(prompts), "samples_per_prompt": 4,
            "backend": {"kind": "transformers", "max_new_tokens": 10, "batch_size": 4},
            "scorer": {"kind": "length"}, "metrics": [{"kind": "distinct_n", "n": 1}],
            "stage": {"objective": {"kind": "ddpo"}, "lora": {"r": 4, "alpha": 8}, "args": {"per_device_train_batch_size": 2, "max_steps": 1,
                                                              "logging_steps": 1, "max_length": 64, "learning_rate": 1e-3}},
            "eval": {"samples_per_prompt": 2, "limit": 2, "metrics": [{"kind": "self_bleu"}], "scorers": [{"kind": "length"}]},
            "output": {"dir": str(tmp_path / "out")}}
    data.update(over)
    return data


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"prompt_id": f"p{i}", "prompt": f"Write a proverb about {t}."}) + "\n"
                            for i, t in enumerate(["wisdom", "folly", "wealth"])))
    return path


def test_spec_checks(tmp_path, prompts_file):
    from divtools.spec.loading import validate_spec

    spec = validate_spec(_data(tmp_path, tmp_path, prompts_file), file="o.yaml", base_dir=tmp_path)
    assert spec.stage.name == "policy" and spec.stage.init == "base" and spec.backend.model == str(tmp_path)
    # deviation among all K samples of a prompt: with pool: pairs, best_vs_worst's two samples would
    # have one distance-based deviation and every weight would be 1
    from divtools.train.online import round_specs

    assert round_specs(spec, 1, str(tmp_path))["prepare"]["weights"]["pool"] == "all"
    floored = validate_spec(_data(tmp_path, tmp_path, prompts_file, weights={"preset": "paper_floor"}), file="o.yaml",
                            base_dir=tmp_path)
    assert floored.weights.pool == "all" and floored.weights.preset == "paper_floor"
    kept = validate_spec(_data(tmp_path, tmp_path, prompts_file, weights={"pool": "pairs"}), file="o.yaml", base_dir=tmp_path)
    assert round_specs(kept, 1, str(tmp_path))["prepare"]["weights"]["pool"] == "pairs"
    for bad, words in [({"model": {"path": str(tmp_path), "from_config": True}}, "from_config"),
                       ({"stage": {"name": "x", "objective": {"kind": "dpo"}}}, "set by divtools"),
                       ({"rounds": 0}, "rounds")]:
        with pytest.raises(UserError, match=words):
            validate_spec(_data(tmp_path, tmp_path, prompts_file, **bad), file="o.yaml", base_dir=tmp_path)


@pytest.mark.slow
def test_two_rounds_and_a_failure_in_round_2_resumes_without_redoing_round_1(tmp_path, tiny_lm_dir, prompts_file, monkeypatch):
    import divtools.train.online as online
    from divtools.runs import run_spec
    from divtools.spec.loading import validate_spec

    steps: list[str] = []
    real = online._run

    def failing(data, where, quiet):
        steps.append(where)
        if where == "round-2: train":
            raise RuntimeError("killed")  # stands for a kill during round 2's training
        return real(data, where, quiet)

    spec = validate_spec(_data(tmp_path, tiny_lm_dir, prompts_file), file="o.yaml", base_dir=tmp_path)
    monkeypatch.setattr(online, "_run", failing)
    with pytest.raises(RuntimeError, match="killed"):
        run_spec(spec, quiet=True)
    out = tmp_path / "out"
    round1 = out / "round-1" / "model" / "model.safetensors"  # LoRA: the adapter merged into its base
    before = round1.read_bytes()
    assert (out / ".done-round-1").exists() and not (out / ".done-round-2").exists()
    assert (out / "round-2" / "data" / "train.jsonl").exists()  # round 2's pairs were written

    steps.clear()
    monkeypatch.setattr(online, "_run", lambda data, where, quiet: (steps.append(where), real(data, where, quiet))[1])
    run_spec(spec, quiet=True)
    # round 0 and round 1 are not redone; round 2 reruns its runs, which resume from their folders
    assert steps == ["round-2: sample", "round-2: pairs", "round-2: train", "round-2: eval"]
    assert round1.read_bytes() == before

    # round 2 sampled from and trained on round 1's model: its adapter merged into the base
    from safetensors.numpy import load_file

    merged, base = load_file(str(round1)), load_file(str(tiny_lm_dir / "model.safetensors"))
    assert any(not (merged[k] == base[k]).all() for k in base if k in merged)  # round 1's update is in it
    done2 = json.loads((out / ".done-round-2").read_text())
    assert done2["sampled_from"] == str(out / "round-1" / "model") and done2["policy"] == str(out / "round-2" / "model")
    train_manifest = json.loads((out / "round-2" / "train" / "divtools-run.json").read_text())
    assert train_manifest["spec"]["model"]["path"] == str(out / "round-1" / "model")
    adapter = json.loads((out / "round-2" / "train" / "policy" / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(out / "round-1" / "model")
    scored = [json.loads(line) for line in (out / "round-2" / "scored.jsonl").read_text().splitlines()]
    assert len(scored) == 3 * 4 and all(r["score"] == len(r["response"].split()) for r in scored)  # length scorer

    report = json.loads((out / "online-report.json").read_text())
    assert [r["round"] for r in report["curve"]] == [0, 1, 2]
    assert all(set(r["eval"]) == {"self_bleu", "length"} for r in report["curve"])
    assert report["goodhart"] == [{"training": "scorer", "evaluation": "eval.scorers[0]", "component": "length"}]
    assert "Goodhart risk" in (out / "online-report.md").read_text()


def _pipeline(tmp_path):
    rows = [{"prompt": f"q{i}", "response": f"answer {j} to {i} " + "word " * j, "score": j}
            for i in range(3) for j in range(4)]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "gens.jsonl").write_text("".join(json.dumps({"prompt": r["prompt"], "response": r["response"]}) + "\n"
                                                 for r in rows))
    return {"run": "pipeline", "steps": {
        "data": {"run": "prepare", "source": {"kind": "jsonl", "path": str(tmp_path / "rows.jsonl")},
                 "pair_builder": {"kind": "best_vs_worst"}, "split": {"eval_fraction": 0.0},
                 "metrics": [{"kind": "distinct_n", "n": 2, "label": "d2"}], "output": {"dir": str(tmp_path / "prep")}},
        "grpo": {"run": "train", "model": str(tmp_path), "data": {"train": str(tmp_path / "rows.jsonl")},
                 "output": {"dir": str(tmp_path / "train")},
                 "stages": [{"name": "g", "kind": "grpo", "darling": True, "reward": {}}]},
        "eval": {"run": "evaluate", "generations": {"path": str(tmp_path / "gens.jsonl")},
                 "metrics": [{"kind": "distinct_n", "n": 2}, {"kind": "distinct_k", "equivalence": {"kind": "unigram"}},
                             {"kind": "self_bleu"}],
                 "reporters": [{"kind": "json"}], "html_report": False, "output": {"dir": str(tmp_path / "ev")}}}}


def test_pipeline_goodhart_guard_names_prepare_metrics_and_grpo_rewards(tmp_path):
    from divtools.spec.loading import validate_spec
    from divtools.train.goodhart import pipeline_overlaps

    spec = validate_spec(_pipeline(tmp_path), file="p.yaml", base_dir=tmp_path, check_paths=False)
    assert pipeline_overlaps(spec) == [
        {"training": "steps.data.metrics[0]", "evaluation": "steps.eval.metrics[0]", "component": "distinct_n"},
        {"training": "steps.grpo.stages.g.reward.partition", "evaluation": "steps.eval.metrics[1].equivalence",
         "component": "unigram"},
    ]


def test_a_pipeline_run_prints_the_goodhart_warning(tmp_path, capsys):
    from divtools.runs import run_spec
    from divtools.spec.loading import validate_spec

    data = _pipeline(tmp_path)
    del data["steps"]["grpo"]  # prepare + evaluate only: no model needed
    run_spec(validate_spec(data, file="p.yaml", base_dir=tmp_path), quiet=False)
    err = capsys.readouterr().err
    assert "WARNING: Goodhart risk: the training signal steps.data.metrics[0] and the evaluation's " \
           "steps.eval.metrics[0] are the same distinct_n" in err
    assert err.count("Goodhart risk") == 1  # self_bleu is held out


def test_a_vllm_backend_samples_each_rounds_policy(tmp_path, prompts_file):
    """The vLLM plugin's backend loads a model folder, so run: online points it at each round's
    policy like the transformers backend (validated here; vLLM itself needs a GPU)."""
    from divtools.spec.loading import validate_spec
    from divtools.train.online import round_specs

    spec = validate_spec(_data(tmp_path, tmp_path, prompts_file, backend={"kind": "vllm", "max_new_tokens": 10}),
                         file="o.yaml", base_dir=tmp_path)
    assert spec.backend.kind == "vllm"
    samples = round_specs(spec, 2, str(tmp_path / "out" / "round-1" / "model"))["samples"]
    assert samples["systems"][0]["backend"] == {**samples["systems"][0]["backend"], "kind": "vllm",
                                                "model": str(tmp_path / "out" / "round-1" / "model")}
