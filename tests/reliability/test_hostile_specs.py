"""Hostile spec files, ``--set`` values and JSONL rows (issue #12 items 4, 5, 8 and 9).

Each case is run the way a user runs it (``divtools run`` / ``validate``, click's runner) and
must end with exit 2 and a ``FILE: field: message`` line, no traceback, nothing written; or, for
the byte-order mark, be read like the same file without one. The limits are
:mod:`divtools.input_limits` (YAML side: :class:`divtools.spec.yaml_loader.SpecLoader`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from divtools.cli.main import cli

from .conftest import KJV_GROUPS

DEEP = 100_000


def _gens(path: Path, extra: str = "") -> Path:
    rows = [{"prompt": f"Write about {t}.", "response": f"{t} text number {i} and more"}
            for t in ("rain", "snow") for i in range(3)]
    path.write_text(extra + "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _evaluate_yaml(tmp_path: Path, extra: str = "", gens: Path | None = None) -> str:
    gens = gens or _gens(tmp_path / "gens.jsonl")
    return (f"run: evaluate\ngenerations: {{path: {gens}}}\nmetrics: [{{kind: distinct_n}}]\n"
            f"output: {{dir: {tmp_path / 'out'}}}\n{extra}")


def _invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, escaped


def _refused(tmp_path: Path, args: list[str], *fragments: str, command: str = "run") -> str:
    code, output, escaped = _invoke(command, *args)
    assert escaped is None, f"traceback: {escaped!r}"
    assert code == 2, output
    for fragment in fragments:
        assert fragment in output, output
    assert "Traceback" not in output
    out = tmp_path / "out"
    # nothing written (a run that claimed its folder leaves only its manifest: reusable by any spec)
    assert not out.exists() or [p.name for p in out.rglob("*")] == ["divtools-run.json"], sorted(out.rglob("*"))
    return output


# ---------------------------------------------------------------- item 4: alias bomb
def test_a_billion_laughs_in_a_free_form_mapping_is_refused_by_validate_and_run(tmp_path):
    levels = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    spec = tmp_path / "bomb.yaml"
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "p", "prompt_id": "a"}\n')
    spec.write_text(
        "run: evaluate\n"
        f"prompts: {{path: {prompts}}}\nsamples_per_prompt: 1\n"
        "systems:\n- name: api\n  backend:\n    kind: openai_compatible\n    model: m\n"
        "    extra_body:\n" + "".join(f"      {line}\n" for line in levels) +
        f"metrics: [{{kind: distinct_n}}]\noutput: {{dir: {tmp_path / 'out'}}}\n", encoding="utf-8")
    # by hand: level i holds 10**(i+1) + ... + 1 nodes, so l0..l8 hold 11 + 111 + ... + 1,111,111,111
    # = 1,234,567,890; plus extra_body's mapping and 9 keys, and the spec's other 39 nodes
    for command in ("validate", "run"):
        _refused(tmp_path, [str(spec)], f"{spec}: refused at line", "aliases (*name) expand to 1,234,567,939 values",
                 command=command)


def test_a_few_aliases_still_work(tmp_path):
    spec = tmp_path / "ok.yaml"
    spec.write_text(_evaluate_yaml(tmp_path).replace("metrics: [{kind: distinct_n}]",
                                                     "metrics: [&m {kind: distinct_n, n: 1}, {<<: *m, n: 2, label: d2}]"))
    code, output, escaped = _invoke("validate", str(spec))
    assert code == 0 and escaped is None, output


# ---------------------------------------------------------------- item 5: tracebacks where a message belongs
def test_deep_nesting_in_a_yaml_spec(tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text(_evaluate_yaml(tmp_path, "seed: " + "[" * DEEP + "]" * DEEP + "\n"))
    _refused(tmp_path, [str(spec)], f"{spec}: refused at line 5: lists/mappings nested more than 100 levels")


def test_deep_nesting_in_a_json_spec(tmp_path):
    spec = tmp_path / "deep.json"
    spec.write_text('{"run": "evaluate", "seed": ' + "[" * DEEP + "]" * DEEP + "}")
    _refused(tmp_path, [str(spec)], f"{spec}: refused: lists/objects nested more than 100 levels")


def test_deep_nesting_in_a_jsonl_line(tmp_path):
    gens = _gens(tmp_path / "gens.jsonl", extra='{"prompt": "p", "response": "r", "x": ' + "[" * DEEP + "]" * DEEP + "}\n")
    spec = tmp_path / "s.yaml"
    spec.write_text(_evaluate_yaml(tmp_path, gens=gens))
    _refused(tmp_path, [str(spec)], f"{gens}: line 1: refused: lists/objects nested more than 100 levels")


@pytest.mark.parametrize("where", ["yaml", "json", "set", "jsonl"])
def test_an_integer_of_more_than_4300_digits(tmp_path, where):
    big = "9" * 5000
    spec = tmp_path / ("s.json" if where == "json" else "s.yaml")
    args = [str(spec)]
    gens = None
    if where == "jsonl":
        gens = _gens(tmp_path / "gens.jsonl", extra=f'{{"prompt": "p", "response": "r", "n": {big}}}\n')
    if where == "json":
        spec.write_text(json.dumps({"run": "evaluate", "metrics": [{"kind": "distinct_n"}],
                                    "output": {"dir": str(tmp_path / "out")}})[:-1] + f', "seed": {big}}}')
    else:
        spec.write_text(_evaluate_yaml(tmp_path, f"seed: {big}\n" if where == "yaml" else "", gens=gens))
    if where == "set":
        args += ["--set", f"seed={big}"]
    expected = {"yaml": f"{spec}: refused at line 5: an integer of 5000 digits",
                "json": f"{spec}: refused: an integer has more than 4300 digits",
                "set": f"{spec}: --set seed: the value '{big[:80]}' cannot be read: refused at line 1: an integer of 5000",
                "jsonl": f"{gens}: line 1: refused: an integer has more than 4300 digits"}[where]
    _refused(tmp_path, args, expected)


def test_a_prepare_score_too_large_for_a_float(tmp_path):
    src = tmp_path / "data.jsonl"
    rows = [json.loads(line) for line in KJV_GROUPS.read_text(encoding="utf-8").splitlines()[:12]]
    rows[2]["score"] = int("1" + "0" * 400)  # 1e400 written as an integer
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    spec = tmp_path / "p.yaml"
    spec.write_text(f"run: prepare\nsource: {{kind: jsonl, path: {src}, columns: {{response_id: id}}}}\n"
                    f"metrics: [{{kind: distinct_n}}]\noutput: {{dir: {tmp_path / 'out'}}}\n")
    _refused(tmp_path, [str(spec)], f"{src}: score: line 3: score 1000", "(401 digits) is too large")


def test_bootstrap_samples_is_bounded_at_validation(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(_evaluate_yaml(tmp_path, "bootstrap_samples: 1000000000000\n"))
    for command in ("validate", "run"):
        _refused(tmp_path, [str(spec)], f"{spec}: bootstrap_samples: Input should be less than or equal to 100000",
                 command=command)


@pytest.mark.parametrize("value, problem", [("[1,", "YAML syntax error at line 1"),
                                            ("!!python/name:os.system", "YAML tag not allowed at line 1")])
def test_set_values_that_cannot_be_read(tmp_path, value, problem):
    spec = tmp_path / "s.yaml"
    spec.write_text(_evaluate_yaml(tmp_path))
    _refused(tmp_path, [str(spec), "--set", f"seed={value}"], f"{spec}: --set seed: the value '{value}' cannot be read: {problem}")


# ---------------------------------------------------------------- item 8: accepted silently
@pytest.mark.parametrize("form", ["yaml", "json", "jsonl"])
def test_duplicate_keys_are_refused(tmp_path, form):
    if form == "jsonl":
        gens = _gens(tmp_path / "gens.jsonl", extra='{"prompt": "p", "response": "first", "response": "second"}\n')
        spec = tmp_path / "s.yaml"
        spec.write_text(_evaluate_yaml(tmp_path, gens=gens))
        expected = f"{gens}: line 1: refused: the key 'response' appears twice in one mapping"
    elif form == "yaml":
        spec = tmp_path / "s.yaml"
        spec.write_text(_evaluate_yaml(tmp_path, "seed: 1\nseed: 2\n"))
        expected = f"{spec}: refused at line 6: the key 'seed' appears twice (also at line 5)"
    else:
        spec = tmp_path / "s.json"
        gens = _gens(tmp_path / "gens.jsonl")
        spec.write_text(f'{{"run": "evaluate", "seed": 1, "generations": {{"path": "{gens}"}}, '
                        f'"metrics": [{{"kind": "distinct_n"}}], "output": {{"dir": "{tmp_path / "out"}"}}, "seed": 2}}')
        expected = f"{spec}: refused: the key 'seed' appears twice in one mapping"
    _refused(tmp_path, [str(spec)], expected, command="validate" if form != "jsonl" else "run")


def test_an_output_folder_inside_the_installed_package_is_refused(tmp_path):
    import divtools

    inside = Path(divtools.__file__).resolve().parent / "runs-here"
    spec = tmp_path / "s.yaml"
    spec.write_text(_evaluate_yaml(tmp_path).replace(str(tmp_path / "out"), str(inside)))
    _refused(tmp_path, [str(spec)], f"output.dir: {inside} is inside divtools' own source folder")
    assert not inside.exists()


# ---------------------------------------------------------------- item 9: smaller
@pytest.mark.parametrize("form", ["yaml", "json", "jsonl"])
def test_a_byte_order_mark_is_accepted_everywhere(tmp_path, form):
    bom = "\ufeff"
    gens = _gens(tmp_path / "gens.jsonl", extra=bom if form == "jsonl" else "")
    if form == "json":
        spec = tmp_path / "s.json"
        spec.write_text(bom + json.dumps({"run": "evaluate", "generations": {"path": str(gens)},
                                          "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(tmp_path / "out")}}),
                        encoding="utf-8")
    else:
        spec = tmp_path / "s.yaml"
        spec.write_text((bom if form == "yaml" else "") + _evaluate_yaml(tmp_path, gens=gens), encoding="utf-8")
    code, output, escaped = _invoke("run", str(spec), "--quiet")
    assert code == 0 and escaped is None, output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["systems"]["default"]["n_prompts_complete"] == 2


def test_union_errors_name_the_field_not_pydantic_internals(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(_evaluate_yaml(tmp_path).replace("{kind: distinct_n}", "{kind: vendi, q: -1}"))
    output = _refused(tmp_path, [str(spec)], f"{spec}: metrics.0.q: Input should be greater than or equal to 0 or 'inf'",
                      command="validate")
    assert "constrained-float" not in output and "literal[" not in output
    assert len(output.strip().splitlines()) == 1


def test_a_symlink_refusal_is_labelled_as_the_output_folder(tmp_path):
    from divtools.errors import UserError
    from divtools.rundir import safe_child

    (tmp_path / "generations").symlink_to("/tmp")
    with pytest.raises(UserError) as exc:
        safe_child(tmp_path, "generations", "x.jsonl")
    assert exc.value.field == "output.dir" and not str(exc.value).startswith("id:")
    assert f"{tmp_path / 'generations'} is a symbolic link" in str(exc.value)
