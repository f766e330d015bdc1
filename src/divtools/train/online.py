"""``run: online``: iterated on-policy DDPO / DivPO, composed of divtools' own runs.

Round r (1..R) in ``output.dir/round-r/``, each step an ordinary run of its kind (its own
``divtools-run.json``, resumable as ever):

1. ``samples/``: ``run: evaluate`` with the current policy as a backend system on the training
   prompts, K samples each, the ``scorer`` and the weight ``metrics`` (the samples' quality and
   diversity on the training prompts);
2. ``scored.jsonl``: those samples with the scorer's value as ``score``;
3. ``data/``: ``run: prepare`` on ``scored.jsonl`` (pair builder, deviations, weights; no split);
4. ``train/``: ``run: train`` with the one preference stage, from the previous round's model;
   the new policy is ``train/policy/`` (with LoRA: ``model/``, the adapter merged into its base);
5. ``eval/``: ``run: evaluate`` of the new policy (round 0: of the starting model) on ``eval``.

A round is marked done (``.done-round-r``, holding its numbers) only after its evaluation; a
rerun skips done rounds and resumes the unfinished one from whichever of its runs finished
(prepare reuses its files, train skips a finished stage and resumes a stage from its last
checkpoint, evaluate keeps the generations). ``online-report.json`` / ``.md`` hold the
quality and diversity curve over rounds and the Goodhart guard's warnings.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from divtools.atomic import write_json, write_text

__all__ = ["REPORT_FILE", "goodhart", "policy_of", "round_specs", "run"]

REPORT_FILE = "online-report.json"
SYSTEM = "policy"


def _dump(entry: Any) -> Any:
    return entry.model_dump(mode="json") if hasattr(entry, "model_dump") else entry


def _eval_spec(spec: Any, policy: str, out: Path, seed: int) -> dict[str, Any]:
    ev = spec.eval
    prompts: dict[str, Any] = {"path": str(ev.prompts or spec.prompts)}
    if ev.limit is not None:
        prompts["limit"] = ev.limit
    return {"run": "evaluate", "seed": seed, "prompts": prompts, "samples_per_prompt": ev.samples_per_prompt,
            "systems": [{"name": SYSTEM, "backend": {**_dump(spec.backend), "model": policy},
                         "num_samples": ev.samples_per_prompt}],
            "metrics": [_dump(m) for m in ev.metrics], "scorers": [_dump(s) for s in ev.scorers],
            "reporters": [{"kind": "json"}, {"kind": "markdown"}], "html_report": False,
            "bootstrap_samples": 200, "output": {"dir": str(out)}}


def round_specs(spec: Any, r: int, policy: str) -> dict[str, dict[str, Any]]:
    """The runs of round ``r`` as spec data (validated like any spec file), sampling from and
    training ``policy`` (a model path)."""
    out = Path(spec.output.dir) / f"round-{r}"
    seed = spec.seed + r  # every round samples with its own seed
    k = spec.samples_per_prompt
    metrics = [_dump(m) for m in spec.metrics] or [_dump(m) for m in spec.eval.metrics]
    samples = {"run": "evaluate", "seed": seed, "prompts": {"path": str(spec.prompts)}, "samples_per_prompt": k,
               "systems": [{"name": SYSTEM, "backend": {**_dump(spec.backend), "model": policy}, "num_samples": k}],
               "metrics": metrics, "scorers": [_dump(spec.scorer)], "reporters": [{"kind": "json"}],
               "html_report": False, "bootstrap_samples": 200, "output": {"dir": str(out / "samples")}}
    prepare = {"run": "prepare", "seed": seed,
               "source": {"kind": "jsonl", "path": str(out / "scored.jsonl"),
                          "columns": {"prompt_id": "prompt_id", "response_id": "id"}, "on_bad_row": "drop"},
               "split": {"eval_fraction": 0.0}, "pair_builder": _dump(spec.pair_builder),
               "metrics": [_dump(m) for m in spec.metrics], "weights": spec.weights.model_dump(mode="json", exclude_unset=True),
               "output": {"dir": str(out / "data")}}
    model = {**spec.model.model_dump(mode="json"), "path": policy}
    stage = spec.stage.model_dump(mode="json")
    train = {"run": "train", "seed": seed, "model": model, "data": {"train": str(out / "data" / "train.jsonl")},
             "stages": [stage], "output": {"dir": str(out / "train")}}
    return {"samples": samples, "prepare": prepare, "train": train,
            "eval": _eval_spec(spec, str(policy_of(spec, r)), out / "eval", seed)}


def policy_of(spec: Any, r: int) -> Path:
    """Round ``r``'s trained policy: the stage's folder, or with LoRA ``round-r/model/``, the
    adapter merged into its base, so that the next round samples from and trains on all rounds' updates."""
    out = Path(spec.output.dir) / f"round-{r}"
    return out / "model" if spec.stage.lora is not None else out / "train" / spec.stage.name


def _merge_adapter(train_spec: Any, stage_dir: Path, dest: Path) -> None:
    """Merge the LoRA adapter in ``stage_dir`` into its base (divtools' own loader) and save the
    full model with the tokenizer to ``dest`` (written under a temporary name, then renamed)."""
    import shutil

    from divtools.train.models import InitPoint, load_causal_lm, load_tokenizer

    init = InitPoint.of(train_spec.model, stage_dir)
    model = load_causal_lm(init, trainable_adapter=False)
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    load_tokenizer(init).save_pretrained(tmp)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def _validate(data: dict[str, Any], where: str, *, check_paths: bool = True) -> Any:
    from divtools.spec.loading import validate_spec

    return validate_spec(data, file=where, base_dir=Path.cwd(), check_paths=check_paths)


def _run(data: dict[str, Any], where: str, quiet: bool) -> Any:
    """Validate and run one generated spec; returns the validated spec."""
    from divtools.runs import run_spec

    if not quiet:
        print(f"divtools: {where}", file=sys.stderr, flush=True)
    spec = _validate(data, where)
    run_spec(spec, quiet=quiet)
    return spec


def _score_file(samples_dir: Path, label: str, path: Path) -> int:
    """``scored.jsonl``: every sample of the policy with the scorer's value as ``score`` (a sample
    the scorer left without a value has ``score: null`` and is dropped and counted by prepare)."""
    from divtools.evaluate.run import SAMPLES_FILE
    from divtools.generation.driver import read_generations
    from divtools.jsonl import read_jsonl

    scores = {row["id"]: (row.get("scores") or {}).get(label) for _, row in read_jsonl(samples_dir / SAMPLES_FILE)
              if row.get("system") == SYSTEM}
    rows = [{"prompt_id": g["prompt_id"], "prompt": g["prompt"], "id": g["id"], "response": g["response"],
             "score": scores.get(g["id"])} for g in read_generations(samples_dir / "generations" / f"{SYSTEM}.jsonl")
            if g["id"] in scores]
    write_text(path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))
    return len(rows)


def _means(report_dir: Path) -> dict[str, float | None]:
    """label -> the policy's mean in an evaluate run's report.json."""
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    out = {}
    for label, value in report["results"][SYSTEM].items():
        mean = value.get("mean") if isinstance(value, dict) else None
        out[label] = float(mean) if isinstance(mean, (int, float)) and math.isfinite(mean) else None
    return out


def goodhart(spec: Any) -> list[dict[str, str]]:
    """Components the training signal (scorer, weight metrics, pair builder) shares with the evaluation."""
    from divtools.train.goodhart import overlaps

    training = {"scorer": spec.scorer, "pair_builder": spec.pair_builder,
                **{f"metrics[{i}]": m for i, m in enumerate(spec.metrics)}}
    evaluation = {**{f"eval.metrics[{i}]": m for i, m in enumerate(spec.eval.metrics)},
                  **{f"eval.scorers[{i}]": s for i, s in enumerate(spec.eval.scorers)}}
    return overlaps(training, evaluation)


def _markdown(report: dict[str, Any]) -> str:
    labels = list(dict.fromkeys(label for r in report["curve"] for label in r["eval"]))
    lines = ["# Online training: quality and diversity over rounds", "",
             f"{report['rounds']} rounds; round 0 is the starting model. Each round's model is evaluated on the eval prompts.", "",
             "| round | pairs | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for r in report["curve"]:
        cells = ["" if r["eval"].get(x) is None else f"{r['eval'][x]:.4g}" for x in labels]
        lines.append(f"| {r['round']} | {r.get('pairs', '')} | " + " | ".join(cells) + " |")
    from divtools.train.goodhart import warning_lines

    warnings = warning_lines(report["goodhart"])
    if warnings:
        lines += ["", "## Goodhart guard", ""] + [f"- {w}" for w in warnings]
    return "\n".join(lines) + "\n"


def run(spec: Any, *, quiet: bool = False) -> Path:
    """Run (or resume) every round of an online spec; returns ``output.dir``."""
    from divtools.rundir import RunDir
    from divtools.train.goodhart import warning_lines

    rd = RunDir.open(spec, kind="online")
    out = rd.path
    found = goodhart(spec)
    for line in warning_lines(found):
        print(f"divtools: WARNING: {line}", file=sys.stderr, flush=True)
    # round 1's train spec is checked (args, objective) before anything is sampled
    first = round_specs(spec, 1, spec.model.path)
    check = _validate(first["train"], "round-1 train (generated by run: online)", check_paths=False)
    from divtools.train.run import check_configs

    check_configs(check)

    rounds: list[dict[str, Any]] = []
    if not rd.is_done("round-0"):
        _run(_eval_spec(spec, spec.model.path, out / "round-0" / "eval", spec.seed), "round 0: eval", quiet)
        rd.mark_done("round-0", {"round": 0, "policy": spec.model.path, "eval": _means(out / "round-0" / "eval")})
    rounds.append(json.loads(rd.file(".done-round-0").read_text(encoding="utf-8")))
    policy = spec.model.path
    for r in range(1, spec.rounds + 1):
        name = f"round-{r}"
        if rd.is_done(name):
            info = json.loads(rd.file(f".done-{name}").read_text(encoding="utf-8"))
            if not quiet:
                print(f"divtools: {name}: already done, skipped", file=sys.stderr, flush=True)
        else:
            specs = round_specs(spec, r, policy)
            rdir = out / name
            _run(specs["samples"], f"{name}: sample", quiet)
            n = _score_file(rdir / "samples", spec.scorer.display, rdir / "scored.jsonl")
            _run(specs["prepare"], f"{name}: pairs", quiet)
            summary = json.loads((rdir / "data" / "summary.json").read_text(encoding="utf-8"))
            pairs = summary.get("splits", {}).get("train", {}).get("pairs")
            train_spec = _run(specs["train"], f"{name}: train", quiet)
            if spec.stage.lora is not None:
                _merge_adapter(train_spec, rdir / "train" / spec.stage.name, policy_of(spec, r))
            _run(specs["eval"], f"{name}: eval", quiet)
            info = {"round": r, "policy": str(policy_of(spec, r)), "sampled_from": policy,
                    "samples": n, "pairs": pairs, "train_samples": _means(rdir / "samples"), "eval": _means(rdir / "eval")}
            rd.mark_done(name, info)
        rounds.append(info)
        policy = info["policy"]
    report = {"rounds": spec.rounds, "final_model": policy, "goodhart": found, "curve": rounds}
    write_json(out / REPORT_FILE, report)
    write_text(out / "online-report.md", _markdown(report))
    return out
