"""Failures that happen while a run runs (issue #12 item 5, run-time cases): each is a
``FILE: field: message`` with exit 2 and no traceback, or (a cache that cannot be written) a run
that goes on and says so once.

The CLI's mapping of standard exceptions is :mod:`divtools.cli.errors`; the cache's is
``divtools.embed_cache``; model code and dataset scripts are refused where they would load.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from .conftest import TINY_ARGS, run_cli, write_pairs


def _gens(path: Path) -> Path:
    rows = [{"prompt": f"Write about {t}.", "response": f"{t} came {w} over the town at {i}"}
            for t in ("rain", "snow") for i, w in enumerate(("slowly", "softly", "late"))]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _evaluate(tmp_path: Path, **extra) -> dict:
    return {"run": "evaluate", "generations": {"path": str(_gens(tmp_path / "gens.jsonl"))},
            "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(tmp_path / "out")}, **extra}


def test_a_300_character_output_folder_name(tmp_path):
    spec = _evaluate(tmp_path)
    spec["output"]["dir"] = str(tmp_path / ("d" * 300))
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "output.dir: cannot use" in result.output and "File name too long" in result.output


def test_disk_full_during_a_write(tmp_path, monkeypatch):
    from divtools import atomic

    real = atomic.os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path / "out")) and "report.json" in os.readlink(
                f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(atomic.os, "fsync", full)
    result = run_cli(_evaluate(tmp_path), tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "report.json: no space left on the device; free some space" in result.output
    out = tmp_path / "out"
    assert not (out / "report.json").exists()
    assert not [p for p in out.rglob("*.tmp")], sorted(out.rglob("*"))
    monkeypatch.setattr(atomic.os, "fsync", real)  # space freed: the rerun completes
    assert run_cli(_evaluate(tmp_path), tmp_path).exit_code == 0 and (out / "report.json").exists()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_cache_is_skipped_and_said_once(tmp_path, monkeypatch, capfd, code):
    from divtools import embed_cache

    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(embed_cache, "_UNWRITABLE", set())

    def refuse(path, data):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(embed_cache, "_replace_bytes", refuse)
    metrics = [{"kind": "embedding_diversity", "label": "style", "embedder": {"kind": "stylometric"}},
               {"kind": "embedding_diversity", "label": "tfidf", "embedder": {"kind": "tfidf"}}]
    result = run_cli(_evaluate(tmp_path, metrics=metrics), tmp_path)
    assert result.exit_code == 0 and result.exception is None, result.output
    warned = capfd.readouterr().err + result.output
    assert warned.count("cannot be used") == 1, warned
    assert f"the cache folder {tmp_path / 'cache'} cannot be used ({os.strerror(code)}); going on without" in warned
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["results"]["default"]["style"]["n_prompts"] == 2


@pytest.mark.slow
def test_a_model_folder_asking_for_remote_code(tmp_path):
    pytest.importorskip("transformers")
    model = tmp_path / "model"
    model.mkdir()
    marker = tmp_path / "ran"
    (model / "config.json").write_text(json.dumps({"model_type": "evil", "auto_map": {
        "AutoConfig": "configuration_evil.EvilConfig", "AutoModelForCausalLM": "modeling_evil.EvilModel"}}))
    for name in ("configuration_evil.py", "modeling_evil.py"):
        (model / name).write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    (tmp_path / "prompts.jsonl").write_text('{"prompt": "p", "prompt_id": "a"}\n')
    spec = {"run": "evaluate", "prompts": {"path": str(tmp_path / "prompts.jsonl")}, "samples_per_prompt": 2,
            "systems": [{"name": "m", "backend": {"kind": "transformers", "model": str(model)}}],
            "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(tmp_path / "out")}}
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert f"{model}: model: the model asks to run its own Python code" in result.output
    assert "trust_remote_code: true" in result.output and not marker.exists()


def test_an_hf_dataset_folder_with_a_loading_script(tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    marker = tmp_path / "ran"
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    spec = {"run": "prepare", "source": {"kind": "hf_dataset", "name": str(folder), "split": "train"},
            "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(tmp_path / "out")}}
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert f"{folder}: source: the dataset folder holds a loading script (evil.py)" in result.output
    assert not marker.exists()


@pytest.mark.slow
def test_a_code_running_pickle_in_a_resumed_checkpoint(tmp_path, tiny_lm):
    torch = pytest.importorskip("torch")

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    data = write_pairs(tmp_path / "pairs.jsonl")
    spec = {"run": "train", "model": str(tiny_lm), "data": {"train": str(data)},
            "stages": [{"name": "ddpo", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"},
                        "args": {**TINY_ARGS, "save_steps": 2, "save_strategy": "steps"}}],
            "output": {"dir": str(tmp_path / "out")}}
    assert run_cli(spec, tmp_path).exit_code == 0
    stage = tmp_path / "out" / "ddpo"
    checkpoint = next((stage / "checkpoints").glob("checkpoint-*"))
    (stage / "divtools-stage.json").unlink()  # the stage is unfinished again: the rerun resumes
    torch.save({"python": Evil()}, checkpoint / "rng_state.pth")
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert f"{checkpoint}: a file of this checkpoint holds a pickle that would run code" in result.output
    assert "weights_only=False" not in result.output and "weights_only" not in result.output
    assert not marker.exists()
