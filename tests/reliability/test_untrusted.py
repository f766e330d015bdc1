"""Untrusted specs, data and models: nothing in them runs code, nothing written leaves the output
directory, remote code only when asked (and then said out loud).

Covered elsewhere (referenced in docs/errors.md): the YAML-tag spec ``tests/specs/invalid/24_python_tag.yaml``;
``safe_child`` refusing ``..``/absolute/symlink names (tests/core/test_rundir.py); the planted API
key greps (tests/generation/test_evaluate_with_api.py, tests/generation/test_openai_compatible.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import REPO, run_cli

SRC = REPO / "src" / "divtools"


def _sources() -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(SRC.rglob("*.py"))]


# ---------------------------------------------------------------- no code from data
FORBIDDEN = {
    "eval(": re.compile(r"(?<![\w.])eval\("),
    "exec(": re.compile(r"(?<![\w.])exec\("),
    "compile(": re.compile(r"(?<![\w.])compile\((?!r?['\"])"),  # re.compile is fine
    "pickle": re.compile(r"\bimport pickle\b|\bpickle\.loads?\(|\bcloudpickle\b|\bdill\b"),
    "allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "unsafe yaml": re.compile(r"yaml\.(load|unsafe_load|full_load)\(|yaml\.(Unsafe|Full)?Loader\b"),
    "shell=True": re.compile(r"shell\s*=\s*True"),
    "os.system": re.compile(r"\bos\.(system|popen)\("),
}


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_source_has_no_code_execution_or_pickle(name):
    hits = [f"{p.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}"
            for p, text in _sources() for m in FORBIDDEN[name].finditer(text)]
    assert hits == [], f"{name} in {hits}"


def test_every_torch_load_passes_weights_only_true():
    calls = [(p, text, m.start()) for p, text in _sources() for m in re.finditer(r"torch\.load\(", text)]
    for path, text, start in calls:
        depth, end = 0, start
        for end in range(start + len("torch.load"), len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        assert re.search(r"weights_only\s*=\s*True", text[start:end]), f"{path}: torch.load without weights_only=True"


def test_spec_files_are_read_with_the_safe_loader_and_a_tag_runs_nothing(tmp_path):
    import yaml

    from divtools.spec.yaml_loader import SpecLoader

    loading = (SRC / "spec" / "loading.py").read_text(encoding="utf-8")
    assert "data = load_yaml(text)" in loading and issubclass(SpecLoader, yaml.SafeLoader)
    assert not any(str(tag).startswith("tag:yaml.org,2002:python") for tag in SpecLoader.yaml_constructors)
    marker = tmp_path / "pwned"
    spec = tmp_path / "evil.yaml"
    spec.write_text(f"run: !!python/object/apply:os.system ['touch {marker}']\n")
    from click.testing import CliRunner

    from divtools.cli.main import cli

    for command in (["validate", str(spec)], ["run", str(spec)]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2 and "YAML tag not allowed at line 1" in result.output
    assert not marker.exists()


def test_a_spec_cannot_name_an_import_target(tmp_path):
    """Components are chosen by registered name only; a 'module:attr' string is just an unknown kind."""
    gens = tmp_path / "g.jsonl"
    gens.write_text('{"prompt": "p", "response": "r"}\n')
    result = run_cli({"run": "evaluate", "generations": {"path": str(gens)},
                      "metrics": [{"kind": "os:system"}], "output": {"dir": str(tmp_path / "out")}}, tmp_path)
    assert result.exit_code == 2 and "metrics.0: unknown kind 'os:system'" in result.output


# ---------------------------------------------------------------- trust_remote_code
def _spec_and_param_models():
    from divtools.plugins import registries
    from divtools.spec import evaluate, pipeline, prepare, train  # noqa: F401  (defines the spec models)
    from divtools.spec.base import SpecModel

    seen, todo = set(), [SpecModel]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    for registry in registries():
        for info in registry:
            seen.add(info.params)
    return seen


def test_trust_remote_code_defaults_to_false_everywhere():
    models = _spec_and_param_models()
    with_field = {m for m in models if "trust_remote_code" in m.model_fields}
    names = {m.__name__ for m in with_field}
    assert {"ModelSpec", "SentenceTransformerParams"} <= names  # the walk finds the known ones
    for model in with_field:
        assert model.model_fields["trust_remote_code"].default is False, model
    for model in models:  # no other spelling of the switch defaults to on
        for name, field in model.model_fields.items():
            if "remote_code" in name:
                assert field.default is False, (model, name)


def test_trust_remote_code_on_is_announced_and_recorded(tmp_path, private_cache):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"prompt": "p", "response": f"r{i}", "score": i}) + "\n" for i in range(2)))
    spec = {"run": "prepare", "source": {"kind": "jsonl", "path": str(data)},
            "cleaning": {"min_responses": 3},  # stops after the warning, before any model is needed
            "metrics": [{"kind": "embedding_diversity", "embedder": {"kind": "sentence_transformer",
                                                                      "model": "some/model", "trust_remote_code": True}}],
            "output": {"dir": str(tmp_path / "out")}}
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2
    assert ("divtools: WARNING: metrics.0.embedder.trust_remote_code is true: the model repository's own "
            "Python code will run") in result.output
    spec["metrics"][0]["embedder"]["trust_remote_code"] = False
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and "WARNING" not in result.output
    # what a run records (summary.json / report.json / the run manifest) is the resolved spec, switch included
    from divtools.runs import remote_code_fields
    from divtools.spec.loading import validate_spec

    spec["metrics"][0]["embedder"]["trust_remote_code"] = True
    resolved = validate_spec(spec, file="s.yaml", base_dir=tmp_path)
    assert remote_code_fields(resolved.model_dump(mode="json")) == ["metrics.0.embedder.trust_remote_code"]


# ---------------------------------------------------------------- paths built from data
EVIL = "../../evil"


def _snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def test_ids_and_system_names_in_data_never_leave_the_output_dir(tmp_path):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    gens = work / "gens.jsonl"
    rows = [{"system": EVIL, "prompt": f"prompt {p}", "prompt_id": f"{EVIL}/{p}", "id": f"{EVIL}/{p}/{k}",
             "response": f"response {p} {k} " + "word " * k, "sample": k} for p in range(3) for k in range(3)]
    rows += [{"system": "/etc/passwd", "prompt": r["prompt"], "prompt_id": r["prompt_id"], "id": f"abs{i}",
              "response": r["response"], "sample": r["sample"]} for i, r in enumerate(rows)]
    gens.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = _snapshot(tmp_path)
    out = work / "out"
    result = run_cli({"run": "evaluate", "generations": {"path": str(gens)},
                      "metrics": [{"kind": "distinct_n", "n": 1}], "scorers": [{"kind": "length"}],
                      "reporters": [{"kind": "json"}, {"kind": "markdown"}, {"kind": "plot"}],
                      "bootstrap_samples": 100, "output": {"dir": str(out)}}, work)
    assert result.exit_code == 0, result.output
    new = _snapshot(tmp_path) - before
    assert new and all(p == out or out in p.parents or p == work / "spec.yaml" for p in new), sorted(new)
    report = json.loads((out / "report.json").read_text())
    assert set(report["systems"]) == {EVIL, "/etc/passwd"}  # kept as data, never as a path


def test_prepare_ids_from_data_stay_data(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    data = work / "d.jsonl"
    data.write_text("".join(json.dumps({"prompt": "p", "pid": EVIL, "rid": f"{EVIL}/{i}", "response": f"r {i}",
                                        "score": i}) + "\n" for i in range(4)))
    before = _snapshot(tmp_path)
    out = work / "out"
    result = run_cli({"run": "prepare", "source": {"kind": "jsonl", "path": str(data),
                                                   "columns": {"prompt_id": "pid", "response_id": "rid"}},
                      "split": {"eval_fraction": 0}, "pair_builder": {"kind": "all_pairs"},
                      "output": {"dir": str(out)}}, work)
    assert result.exit_code == 0, result.output
    new = _snapshot(tmp_path) - before
    assert all(p == out or out in p.parents or p == work / "spec.yaml" for p in new), sorted(new)
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert {r["prompt_id"] for r in rows} == {EVIL}


def test_a_symlinked_generations_folder_leading_outside_is_refused(tmp_path):
    from divtools.rundir import RunDir
    from divtools.spec.loading import validate_spec

    outside = tmp_path / "outside"
    outside.mkdir()
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "p", "prompt_id": "a"}\n')
    data = {"run": "evaluate", "prompts": {"path": str(prompts)}, "samples_per_prompt": 1,
            "systems": [{"name": "tiny", "backend": {"kind": "transformers", "model": str(tmp_path / "no-model")}}],
            "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(tmp_path / "out")}}
    RunDir.open(validate_spec(data, file="s.yaml", base_dir=tmp_path))  # an earlier run of this spec
    (tmp_path / "out" / "generations").symlink_to(outside)
    result = run_cli(data, tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "would escape the output directory" in result.output
    assert list(outside.iterdir()) == []


def test_checkpoint_loading_refuses_a_pickle_that_runs_code(tmp_path):
    """Trainer checkpoints (optimizer.pt, rng_state.pth, ...) are read by transformers with
    ``torch.load(..., weights_only=True)``; torch then refuses any pickle that would call code."""
    torch = pytest.importorskip("torch")
    import os
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "rng_state.pth"
    torch.save({"python": Evil()}, path)
    for kwargs in ({"weights_only": True}, {}):  # explicit, and torch's own default
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, **kwargs)
    assert not marker.exists()
