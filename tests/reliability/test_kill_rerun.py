"""SIGKILL ``divtools run`` at seeded points, rerun it, and get what an uninterrupted run gives.

Each run is a real ``divtools`` process (``kill_at.py`` wraps the CLI and SIGKILLs itself at a
chosen point: the N-th atomic rename, a training step, inside a checkpoint save, the N-th
generation call). The points are drawn with a fixed seed from the points an uninterrupted run
passes through, so every rerun of this file kills at the same places. After the kill the same
command runs again to completion; its outputs must equal the uninterrupted run's: byte-identical
prepare files and evaluate ``report.json``, identical trained weights, no duplicated or missing rows.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .conftest import HERE, KJV_GROUPS, subprocess_env, write_pairs

KILL_AT = HERE / "kill_at.py"
SIGKILLED = -signal.SIGKILL


def divtools_run(spec: dict, folder: Path, *, kill: dict[str, str] | None = None, count: Path | None = None,
                 cache: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    env = subprocess_env(DIVTOOLS_CACHE=str(cache), **(kill or {}), **({"COUNT_FILE": str(count)} if count else {}))
    return subprocess.run([sys.executable, str(KILL_AT), "run", str(path), "--quiet"], capture_output=True,
                          text=True, env=env, timeout=timeout)


def divtools_run_killed_after(spec: dict, folder: Path, delay: float, *, cache: Path) -> int:
    """Start the run and SIGKILL it after ``delay`` seconds (or let it finish first)."""
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(KILL_AT), "run", str(path), "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=subprocess_env(DIVTOOLS_CACHE=str(cache)))
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


def run_in_process(spec: dict, folder: Path, monkeypatch) -> None:
    """An uninterrupted run in this process (the reference; saves a process start)."""
    from divtools.runs import run_spec_data

    monkeypatch.setenv("DIVTOOLS_CACHE", str(folder / "cache"))
    run_spec_data(spec, file=str(folder / "spec.yaml"), base_dir=folder, quiet=True)


def visible_files(folder: Path) -> dict[str, bytes]:
    """Every output file (dot-files are divtools' bookkeeping and atomic-write temporaries;
    ``divtools-run.json`` is the run manifest, which names the output folder)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "divtools-run.json"
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def jsonl(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


# ---------------------------------------------------------------- prepare
@pytest.mark.slow
def test_prepare_killed_at_seeded_points_reruns_to_identical_files(tmp_path):
    def spec(out: Path) -> dict:
        return {"run": "prepare", "seed": 3,
                "source": {"kind": "jsonl", "path": str(KJV_GROUPS), "columns": {"response_id": "id"}},
                "metrics": [{"kind": "distinct_n", "n": 2, "label": "d2"},
                            {"kind": "embedding_diversity", "label": "style", "embedder": {"kind": "stylometric"}}],
                "reward_data": True, "output": {"dir": str(out), "formats": ["jsonl", "parquet"]}}

    (tmp_path / "ref").mkdir()
    start = time.monotonic()
    done = divtools_run(spec(tmp_path / "ref" / "out"), tmp_path / "ref", count=tmp_path / "count",
                        cache=tmp_path / "ref" / "cache")
    duration = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    reference = visible_files(tmp_path / "ref" / "out")
    summary = json.loads(reference["summary.json"])
    assert sorted(reference) == sorted(summary["files"])
    renames = int((tmp_path / "count").read_text())
    # every output file, the run manifest and the embedding cache's packs: each one atomic rename
    assert renames > len(summary["files"]) + 1

    rng = random.Random(8)
    points = [{"KILL_AT_REPLACE": str(k), "KILL_WHEN": rng.choice(["before", "after"])}
              for k in sorted(rng.sample(range(1, renames + 1), 4))]
    points.append({"KILL_AT_REPLACE": str(renames), "KILL_WHEN": "before"})  # everything but summary.json
    for i, kill in enumerate(points):
        folder = tmp_path / f"k{i}"
        folder.mkdir()
        cache = folder / "cache"  # its own: the kill may hit a cache write, which the rerun then reads
        killed = divtools_run(spec(folder / "out"), folder, kill=kill, cache=cache)
        assert killed.returncode == SIGKILLED, (kill, killed.stderr)
        rerun = divtools_run(spec(folder / "out"), folder, cache=cache)
        assert rerun.returncode == 0, (kill, rerun.stderr)
        assert visible_files(folder / "out") == reference, kill
    # and one kill after a seeded delay, wherever the process happens to be
    folder = tmp_path / "timed"
    folder.mkdir()
    cache = folder / "cache"
    divtools_run_killed_after(spec(folder / "out"), folder, rng.uniform(0.2, duration), cache=cache)
    assert divtools_run(spec(folder / "out"), folder, cache=cache).returncode == 0
    assert visible_files(folder / "out") == reference
    rows = jsonl(reference["train.jsonl"])
    assert len(rows) == summary["splits"]["train"]["pairs"]
    assert len({(r["chosen_id"], r["rejected_id"]) for r in rows}) == len(rows)


# ---------------------------------------------------------------- evaluate
WORDS = ["wisdom", "folly", "wealth", "speech", "pride", "sloth"]


def _evaluate_inputs(tmp_path: Path) -> tuple[Path, Path]:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"Write a proverb about {w}.", "prompt_id": w}) + "\n"
                               for w in WORDS))
    human = tmp_path / "human.jsonl"
    human.write_text("".join(json.dumps({"system": s, "prompt": f"Write a proverb about {w}.", "prompt_id": w,
                                         "response": f"{s}: a {w} proverb, number {k}{'!' * (k * len(w) % 4)}",
                                         "sample": k}) + "\n"
                             for s in ("human", "model") for w in WORDS for k in range(3)))
    return prompts, human


def _evaluate_spec(prompts: Path, gens: Path, out: Path, systems: list) -> dict:
    return {"run": "evaluate", "seed": 5, "prompts": {"path": str(prompts)}, "samples_per_prompt": 3,
            "generations": {"path": str(gens)}, "systems": systems,
            "metrics": [{"kind": "distinct_n", "n": 1, "label": "d1"}, {"kind": "ngram_diversity", "label": "ngd"}],
            "scorers": [{"kind": "length"}],
            "reporters": [{"kind": "json"}, {"kind": "markdown"}], "bootstrap_samples": 200,
            "output": {"dir": str(out)}}


@pytest.mark.slow
def test_evaluate_killed_while_publishing_reruns_to_the_same_report(tmp_path):
    prompts, gens = _evaluate_inputs(tmp_path)
    out = tmp_path / "out"
    spec = _evaluate_spec(prompts, gens, out, [])
    done = divtools_run(spec, tmp_path, count=tmp_path / "count", cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    reference = visible_files(out)
    assert {"report.json", "report.md", "samples.jsonl"} <= set(reference)
    renames = int((tmp_path / "count").read_text())
    shutil.move(out, tmp_path / "reference")  # report.json records output.dir: reruns use the same path
    rng = random.Random(8)
    points = [{"KILL_AT_REPLACE": str(k), "KILL_WHEN": rng.choice(["before", "after"])}
              for k in sorted(rng.sample(range(1, renames + 1), min(4, renames)))]
    for kill in points:
        shutil.rmtree(out, ignore_errors=True)
        killed = divtools_run(spec, tmp_path, kill=kill, cache=tmp_path / "cache")
        assert killed.returncode == SIGKILLED, (kill, killed.stderr)
        rerun = divtools_run(spec, tmp_path, cache=tmp_path / "cache")
        assert rerun.returncode == 0, (kill, rerun.stderr)
        assert visible_files(out) == reference, kill
    samples = jsonl(reference["samples.jsonl"])
    assert len(samples) == 2 * 6 * 3 and len({(r["system"], r["prompt_id"], r["k"]) for r in samples}) == 36


@pytest.mark.slow
def test_evaluate_killed_while_generating_reruns_to_the_same_report(tmp_path, tiny_lm, monkeypatch):
    prompts, gens = _evaluate_inputs(tmp_path)
    out = tmp_path / "out"
    backend = {"kind": "transformers", "model": str(tiny_lm), "batch_size": 2, "max_new_tokens": 12}
    spec = _evaluate_spec(prompts, gens, out, [{"name": "tiny", "backend": backend}])
    # the reference runs in its own process too: report.json's versions name the libraries the
    # run's process imported, and the test process has imported others (peft, trl, ...)
    assert divtools_run(spec, tmp_path, cache=tmp_path / "cache-reference").returncode == 0
    reference = visible_files(out)
    shutil.move(out, tmp_path / "reference")
    generated = jsonl(reference["generations/tiny.jsonl"])
    assert len(generated) == 18 and len({(g["prompt_id"], g["sample"]) for g in generated}) == 18
    # 6 prompts, 2 per backend call: killed when asking for the second chunk, the first one is on disk
    killed = divtools_run(spec, tmp_path, kill={"KILL_AT_GENERATE": "2"}, cache=tmp_path / "cache")
    assert killed.returncode == SIGKILLED, killed.stderr
    assert len(jsonl((out / "generations" / "tiny.jsonl").read_bytes())) == 6
    rerun = divtools_run(spec, tmp_path, cache=tmp_path / "cache")
    assert rerun.returncode == 0, rerun.stderr
    assert visible_files(out) == reference


# ---------------------------------------------------------------- train
TRAIN_ARGS = {"per_device_train_batch_size": 4, "max_steps": 4, "save_steps": 2, "logging_steps": 1,
              "max_length": 64, "learning_rate": 1e-3}


def _train_spec(model: Path, pairs: Path, out: Path) -> dict:
    return {"run": "train", "seed": 7, "model": str(model), "data": {"train": str(pairs)},
            "stages": [{"name": "ddpo", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"},
                        "args": TRAIN_ARGS}],
            "output": {"dir": str(out)}}


def _logged_steps(out: Path) -> list[int]:
    return [r["step"] for r in jsonl((out / "ddpo" / "log.jsonl").read_bytes()) if "loss/weighted" in r]


@pytest.fixture(scope="module")
def train_reference(tmp_path_factory, tiny_lm):
    """Pairs file and the weights of an uninterrupted run (in this process)."""
    safetensors = pytest.importorskip("safetensors.torch")
    from divtools.runs import run_spec_data

    folder = tmp_path_factory.mktemp("train-reference")
    pairs = write_pairs(folder / "pairs.jsonl")
    run_spec_data(_train_spec(tiny_lm, pairs, folder / "out"), file=str(folder / "spec.yaml"), base_dir=folder,
                  quiet=True)
    assert _logged_steps(folder / "out") == [1, 2, 3, 4]
    return pairs, safetensors.load_file(folder / "out" / "ddpo" / "model.safetensors")


def _kill_and_rerun_train(tmp_path: Path, tiny_lm: Path, train_reference, kill: dict[str, str]) -> None:
    safetensors = pytest.importorskip("safetensors.torch")
    torch = pytest.importorskip("torch")
    pairs, reference = train_reference
    spec = _train_spec(tiny_lm, pairs, tmp_path / "out")
    killed = divtools_run(spec, tmp_path, kill=kill, cache=tmp_path / "cache", timeout=300)
    assert killed.returncode == SIGKILLED, (kill, killed.stderr[-2000:])
    assert (tmp_path / "out" / "ddpo" / "checkpoints" / "checkpoint-2").is_dir()
    assert not (tmp_path / "out" / "ddpo" / "divtools-stage.json").exists()
    rerun = divtools_run(spec, tmp_path, cache=tmp_path / "cache", timeout=300)
    assert rerun.returncode == 0, (kill, rerun.stderr[-2000:])
    weights = safetensors.load_file(tmp_path / "out" / "ddpo" / "model.safetensors")
    assert weights.keys() == reference.keys() and all(torch.equal(weights[k], reference[k]) for k in weights)
    assert _logged_steps(tmp_path / "out") == [1, 2, 3, 4]  # no step logged twice, none missing


@pytest.mark.slow
def test_train_killed_after_a_checkpoint_reruns_to_the_same_weights(tmp_path, tiny_lm, train_reference):
    _kill_and_rerun_train(tmp_path, tiny_lm, train_reference, {"KILL_AT_STEP": "3"})


@pytest.mark.slow
def test_train_killed_inside_a_checkpoint_save_reruns_to_the_same_weights(tmp_path, tiny_lm, train_reference):
    _kill_and_rerun_train(tmp_path, tiny_lm, train_reference, {"KILL_IN_SAVE": "1"})


# ---------------------------------------------------------------- online
@pytest.mark.slow
def test_online_killed_in_round_2_training_resumes_without_redoing_round_1(tmp_path, tiny_lm):
    """A SIGKILL in the middle of round 2's training (after its first optimizer step): the rerun
    leaves round 0 and round 1 untouched (same bytes, same modification times) and finishes round 2."""
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt_id": f"p{i}", "prompt": f"Write a proverb about {t}."}) + "\n"
                               for i, t in enumerate(["wisdom", "folly", "wealth"])))
    out = tmp_path / "out"
    spec = {"run": "online", "rounds": 2, "model": str(tiny_lm), "prompts": str(prompts), "samples_per_prompt": 4,
            "backend": {"kind": "transformers", "max_new_tokens": 10, "batch_size": 4},
            "scorer": {"kind": "length"}, "metrics": [{"kind": "distinct_n", "n": 1}],
            "stage": {"objective": {"kind": "ddpo"},
                      "args": {"per_device_train_batch_size": 1, "max_steps": 3, "save_steps": 1, "logging_steps": 1,
                               "max_length": 64, "learning_rate": 1e-3}},
            "eval": {"samples_per_prompt": 2, "limit": 2, "metrics": [{"kind": "self_bleu"}]},
            "output": {"dir": str(out)}}
    killed = divtools_run(spec, tmp_path, kill={"KILL_AT_STEP": "2", "KILL_STAGE_DIR": "round-2"}, cache=tmp_path / "c",
                          timeout=300)
    assert killed.returncode == SIGKILLED, killed.stderr[-2000:]
    assert (out / ".done-round-1").exists() and not (out / ".done-round-2").exists()
    checkpoints = out / "round-2" / "train" / "policy" / "checkpoints"
    assert list(checkpoints.glob("checkpoint-*")), "round 2 was killed before its first checkpoint"

    def stamps(folder: Path) -> dict[str, tuple[int, bytes]]:
        return {p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
                for p in sorted(folder.rglob("*")) if p.is_file()}

    before = {**stamps(out / "round-0"), **stamps(out / "round-1")}
    done1 = (out / ".done-round-1").read_bytes()
    rerun = divtools_run(spec, tmp_path, cache=tmp_path / "c", timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert {**stamps(out / "round-0"), **stamps(out / "round-1")} == before  # round 0 and 1 not redone
    assert (out / ".done-round-1").read_bytes() == done1
    done2 = json.loads((out / ".done-round-2").read_text())
    assert done2["sampled_from"] == str(out / "round-1" / "train" / "policy")
    log = [json.loads(line) for line in (out / "round-2" / "train" / "policy" / "log.jsonl").read_text().splitlines()]
    steps = [row["step"] for row in log if "loss" in row]
    assert steps == [1, 2, 3]  # round 2 went on from its checkpoint: no step lost or done twice
    report = json.loads((out / "online-report.json").read_text())
    assert [r["round"] for r in report["curve"]] == [0, 1, 2]
