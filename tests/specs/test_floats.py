"""Issue #13 item 1: every float spelling YAML 1.2 and JSON accept reads as a float, in every
spec field and in ``--set`` (the fix is the loader, not a field)."""

from __future__ import annotations

import json

import pytest
import yaml

from divtools.spec.loading import apply_overrides, load_spec, read_spec_file
from divtools.spec.yaml_loader import load_yaml

# (spelling, value computed independently by Python's float())
SPELLINGS = ["5e-4", "5E-4", "1e3", "1E+3", "+1e3", "-2.5e-3", ".5", "1.", ".5e1", "1.e3", "3.0E+2", "0.0001"]


@pytest.mark.parametrize("text", SPELLINGS)
def test_yaml_reads_every_yaml12_float_spelling_as_json_does(text):
    # JSON cannot write ".5" or "1." but YAML 1.2 can; where JSON can, both agree
    value = load_yaml(f"x: {text}")["x"]
    assert isinstance(value, float) and value == float(text)
    try:
        assert json.loads(text) == value
    except json.JSONDecodeError:
        pass


def test_plain_pyyaml_reads_5e_4_as_a_string_so_the_test_above_can_fail():
    assert yaml.safe_load("x: 5e-4")["x"] == "5e-4"


@pytest.mark.parametrize("text,expected", [("5", 5), ("0x1F", 31), ("1e", "1e"), ("e5", "e5"), ("abc", "abc"),
                                           ("'5e-4'", "5e-4"), ("true", True)])
def test_ints_strings_and_quoted_numbers_are_unchanged(text, expected):
    value = load_yaml(f"x: {text}")["x"]
    assert value == expected and type(value) is type(expected)


def test_the_loader_is_still_safe():
    with pytest.raises(yaml.constructor.ConstructorError):
        load_yaml("x: !!python/name:os.system")


def _train_yaml(tmp_path, lr: str):
    (tmp_path / "pairs.jsonl").write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n', encoding="utf-8")
    (tmp_path / "lm").mkdir()
    path = tmp_path / "train.yaml"
    path.write_text(
        "run: train\n"
        "output: {dir: out}\n"
        "model: ./lm\n"
        "data: {train: pairs.jsonl}\n"
        "stages:\n"
        f"  - {{name: sft, kind: sft, args: {{learning_rate: {lr}, weight_decay: 1E-1}}}}\n"
        "  - name: ddpo\n"
        "    kind: preference\n"
        f"    objective: {{kind: ddpo, beta: 1e-1}}\n",
        encoding="utf-8",
    )
    return path


def test_train_spec_args_and_typed_fields_take_exponent_floats(tmp_path):
    spec = load_spec(_train_yaml(tmp_path, "5e-4"))
    assert spec.stages[0].args == {"learning_rate": 5e-4, "weight_decay": 0.1}
    assert spec.stages[1].objective.beta == pytest.approx(0.1)


def test_set_takes_exponent_floats(tmp_path):
    spec = load_spec(_train_yaml(tmp_path, "0.1"), ["stages.0.args.learning_rate=1e-4", "stages.1.objective.beta=2E-1"])
    assert spec.stages[0].args["learning_rate"] == 1e-4
    assert spec.stages[1].objective.beta == pytest.approx(0.2)
    assert apply_overrides({}, ["a=.5", "b=1E+3"]) == {"a": 0.5, "b": 1000.0}


def test_a_json_spec_reads_the_same_numbers(tmp_path):
    data = read_spec_file(_train_yaml(tmp_path, "5e-4"))
    path = tmp_path / "train.json"
    path.write_text(json.dumps(data).replace("0.0005", "5E-4"), encoding="utf-8")
    assert read_spec_file(path) == data
