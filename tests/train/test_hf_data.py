"""Issue #13 item 5: a train spec reads a Hugging Face dataset directly (``data.train:
{hf_dataset: ...}``), here a local ``save_to_disk`` folder, through the loader prepare's
``hf_dataset`` source uses; rows are the same as from the equivalent JSONL file."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("datasets")
pytest.importorskip("trl")


def _saved(tmp_path, pairs_file, *, dict_of_splits: bool, rename: bool = False):
    import datasets

    rows = [json.loads(line) for line in pairs_file.read_text().splitlines()]
    if rename:
        rows = [{("question" if k == "prompt" else k): v for k, v in r.items()} for r in rows]
    ds = datasets.Dataset.from_list(rows)
    folder = tmp_path / "saved"
    (datasets.DatasetDict({"train": ds, "test": ds.select(range(4))}) if dict_of_splits else ds).save_to_disk(str(folder))
    return folder, rows


def test_a_saved_dataset_dict_reads_like_the_jsonl_file(tmp_path, pairs_file):
    from divtools.spec.loading import validate_spec
    from divtools.train.pairs_data import read_pairs

    folder, rows = _saved(tmp_path, pairs_file, dict_of_splits=True)
    spec = validate_spec(
        {"run": "train", "output": {"dir": "out"}, "model": "m",
         "data": {"train": {"hf_dataset": "./saved"}, "eval": {"hf_dataset": "./saved", "split": "test"}, "limit": 5},
         "stages": [{"name": "s", "kind": "sft"}]},
        file="t.yaml", base_dir=tmp_path,
    )
    assert spec.data.train.hf_dataset == str(folder)  # resolved against the spec's folder
    assert read_pairs(spec.data.train) == read_pairs(pairs_file)
    assert read_pairs(spec.data.train, limit=spec.data.limit) == rows[:5]
    assert read_pairs(spec.data.eval) == rows[:4]


def test_columns_rename_and_bad_splits_are_user_errors(tmp_path, pairs_file):
    from divtools.errors import UserError
    from divtools.spec.train import HfDataSpec
    from divtools.train.pairs_data import read_pairs

    folder, _ = _saved(tmp_path, pairs_file, dict_of_splits=True, rename=True)
    with pytest.raises(UserError, match="missing column.*prompt"):
        read_pairs(HfDataSpec(hf_dataset=str(folder)))
    assert read_pairs(HfDataSpec(hf_dataset=str(folder), columns={"prompt": "question"})) == read_pairs(pairs_file)
    with pytest.raises(UserError, match="no split 'validation' in this saved dataset; it has: train, test"):
        read_pairs(HfDataSpec(hf_dataset=str(folder), split="validation"))
    with pytest.raises(UserError, match="the dataset has no column quest"):
        read_pairs(HfDataSpec(hf_dataset=str(folder), columns={"prompt": "quest"}))


def test_conversational_rows_get_a_clear_message(tmp_path):
    import datasets

    from divtools.errors import UserError
    from divtools.spec.train import HfDataSpec
    from divtools.train.pairs_data import read_pairs

    msgs = lambda t: [{"role": "user", "content": "p"}, {"role": "assistant", "content": t}]  # noqa: E731
    datasets.Dataset.from_list([{"prompt": "p", "chosen": msgs("a"), "rejected": msgs("b")}]).save_to_disk(str(tmp_path / "c"))
    with pytest.raises(UserError, match="holds chat messages"):
        read_pairs(HfDataSpec(hf_dataset=str(tmp_path / "c")))


@pytest.mark.slow
def test_ddpo_trains_on_a_saved_dataset(tmp_path, tiny_lm_dir, pairs_file):
    from divtools.spec.loading import validate_spec
    from divtools.train.run import run

    _saved(tmp_path, pairs_file, dict_of_splits=False)
    spec = validate_spec(
        {"run": "train", "output": {"dir": "out"}, "model": str(tiny_lm_dir), "data": {"train": {"hf_dataset": "./saved"}},
         "stages": [{"name": "ddpo", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"},
                     "args": {"per_device_train_batch_size": 4, "max_steps": 2, "logging_steps": 1, "max_length": 64}}]},
        file="t.yaml", base_dir=tmp_path,
    )
    out = run(spec, quiet=True)
    log = [json.loads(line) for line in (out / "ddpo" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss/weighted" in r] == [1, 2]
    manifest = json.loads((out / "divtools-run.json").read_text())
    assert "saved" in json.dumps(manifest)
