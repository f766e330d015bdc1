"""Sources: JSONL, CSV, Parquet, Hugging Face datasets (local files), WritingPrompts; bad data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from divtools.builtins.sources import (
    CsvSourceParams,
    HfDatasetSourceParams,
    JsonlSourceParams,
    ParquetSourceParams,
    WritingPromptsSourceParams,
)
from divtools.components import build
from divtools.data.sources import prompt_id_for, writingprompts_prompt
from divtools.errors import UserError

from .conftest import KJV

ROWS = [
    {"q": "Write about the sea.", "a": "Waves.", "votes": 3, "rid": "r1"},
    {"q": "Write about the sea.", "a": "Salt and wind.", "votes": "12", "rid": "r2"},
    {"q": "Write about fire.", "a": "It burns.", "votes": 0, "rid": "r3"},
    {"q": "Write about the sea.", "a": "Gulls.", "votes": -2, "rid": "r4"},
    {"q": "Write about fire.", "a": "Embers glow.", "votes": 7.5, "rid": "r5"},
]
COLUMNS = {"prompt": "q", "response": "a", "score": "votes", "response_id": "rid"}


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows, header=None) -> Path:
    header = header or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header])
    return path


def write_parquet(path: Path, rows) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{**r, "votes": float(r["votes"])} for r in rows])
    pq.write_table(table, path)
    return path


def load(params):
    src = build("source", params)
    return src.load(), src


def check_groups(groups):
    assert [g.prompt for g in groups] == ["Write about the sea.", "Write about fire."]
    sea, fire = groups
    assert [r.text for r in sea.responses] == ["Waves.", "Salt and wind.", "Gulls."]
    assert [r.score for r in sea.responses] == [3.0, 12.0, -2.0]
    assert [r.id for r in sea.responses] == ["r1", "r2", "r4"]
    assert [r.score for r in fire.responses] == [0.0, 7.5]
    assert sea.prompt_id == prompt_id_for("Write about the sea.")


def test_jsonl_csv_parquet_give_the_same_groups(tmp_path):
    check_groups(load(JsonlSourceParams(path=write_jsonl(tmp_path / "d.jsonl", ROWS), columns=COLUMNS))[0])
    check_groups(load(CsvSourceParams(path=write_csv(tmp_path / "d.csv", ROWS), columns=COLUMNS))[0])
    check_groups(load(ParquetSourceParams(path=write_parquet(tmp_path / "d.parquet", ROWS), columns=COLUMNS))[0])


def test_hf_dataset_from_local_files(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", ROWS[:1] + [{**r, "votes": float(r["votes"])} for r in ROWS[1:]])
    params = HfDatasetSourceParams(name="json", data_files=str(path), columns=COLUMNS,
                                   cache_dir=tmp_path / "cache")
    check_groups(load(params)[0])
    (tmp_path / "p").mkdir()
    write_parquet(tmp_path / "p" / "train.parquet", ROWS)
    folder = HfDatasetSourceParams(name=str(tmp_path / "p"), split="train", columns=COLUMNS,
                                   cache_dir=tmp_path / "cache")
    check_groups(load(folder)[0])


def test_grouped_layout_and_default_ids(tmp_path):
    rows = [{"prompt": "P1", "responses": ["a", "b"], "scores": [1, 2]},
            {"prompt": "P2", "responses": ["c", "d", "e"], "scores": [5, 4, 3]}]
    params = JsonlSourceParams(path=write_jsonl(tmp_path / "g.jsonl", rows), layout="grouped",
                               columns={"response": "responses", "score": "scores"})
    groups, _ = load(params)
    assert [len(g.responses) for g in groups] == [2, 3]
    assert groups[1].responses[2].id == f"{prompt_id_for('P2')}/2"
    bad = write_jsonl(tmp_path / "b.jsonl", [{"prompt": "P", "responses": ["a", "b"], "scores": [1]}])
    with pytest.raises(UserError, match=r"line 1: 2 responses but 1 scores") as exc:
        load(JsonlSourceParams(path=bad, layout="grouped", columns={"response": "responses", "score": "scores"}))
    assert exc.value.file == str(bad)


def test_writingprompts_adapter_local_jsonl_and_hf(tmp_path):
    rows = [
        {"post_title": "[WP] A dragon [OT] learns to knit", "post_text": "Make it sad.",
         "comment_texts": ["One.", "Two.", "**Welcome to the Prompt!** rules"], "comment_scores": [10, 2, 1]},
        {"post_title": "[EU]  Harry Potter, but tea", "post_text": "",
         "comment_texts": ["Tea.", "More tea."], "comment_scores": [0, 4]},
    ]
    path = write_jsonl(tmp_path / "wp.jsonl", rows)
    groups, _ = load(WritingPromptsSourceParams(path=path))
    assert groups[0].prompt == "A dragon [OT] learns to knit\nMake it sad."  # only the first tag
    assert groups[1].prompt == "Harry Potter, but tea"
    assert [r.score for r in groups[0].responses] == [10.0, 2.0, 1.0]
    assert writingprompts_prompt("[WP] x", "y", strip_title_tag=False) == "[WP] x\ny"
    hf = WritingPromptsSourceParams(name="json", data_files=str(path), cache_dir=tmp_path / "c")
    assert [g.prompt for g in load(hf)[0]] == [g.prompt for g in groups]
    missing = write_jsonl(tmp_path / "m.jsonl", [{"post_title": "t", "post_text": "", "comment_texts": ["a"]}])
    with pytest.raises(UserError, match="column 'comment_scores'"):
        load(WritingPromptsSourceParams(path=missing))


# ---------------------------------------------------------------- bad data
def test_missing_column_names_file_and_field(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", ROWS)
    with pytest.raises(UserError) as exc:
        load(JsonlSourceParams(path=path, columns={**COLUMNS, "score": "upvotes"}))
    assert exc.value.file == str(path) and exc.value.field == "source.columns.score"
    assert "column 'upvotes'" in exc.value.message and "votes" in exc.value.message
    with pytest.raises(UserError, match="column 'upvotes'"):
        load(CsvSourceParams(path=write_csv(tmp_path / "d.csv", ROWS), columns={**COLUMNS, "score": "upvotes"}))


def test_missing_field_in_a_later_row(tmp_path):
    rows = ROWS[:2] + [{"q": "Write about fire.", "a": "It burns."}]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(UserError, match="line 3: field 'votes' is missing"):
        load(JsonlSourceParams(path=path, columns=COLUMNS | {"response_id": None}))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_non_numeric_score_is_an_error_or_a_counted_drop(tmp_path, fmt):
    rows = [dict(r) for r in ROWS]
    rows[3]["votes"] = "lots"
    path = write_jsonl(tmp_path / "d.jsonl", rows) if fmt == "jsonl" else write_csv(tmp_path / "d.csv", rows)
    P = JsonlSourceParams if fmt == "jsonl" else CsvSourceParams
    with pytest.raises(UserError) as exc:
        load(P(path=path, columns=COLUMNS))
    line = 4 if fmt == "jsonl" else 5  # the CSV header is line 1
    assert f"line {line}: score 'lots' is not a number" in exc.value.message
    assert exc.value.file == str(path) and exc.value.field == "votes"
    groups, src = load(P(path=path, columns=COLUMNS, on_bad_row="drop"))
    assert src.dropped == {"bad_score": 1}
    assert sum(len(g.responses) for g in groups) == 4


def test_empty_files(tmp_path):
    for name, P in [("e.jsonl", JsonlSourceParams), ("e.csv", CsvSourceParams)]:
        path = tmp_path / name
        path.write_text("")
        with pytest.raises(UserError, match="empty|no rows") as exc:
            load(P(path=path))
        assert exc.value.file == str(path)
    header_only = tmp_path / "h.csv"
    header_only.write_text("prompt,response,score\n")
    with pytest.raises(UserError, match="no rows"):
        load(CsvSourceParams(path=header_only))
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n")
    with pytest.raises(UserError, match="no rows"):
        load(JsonlSourceParams(path=blank))


def test_invalid_utf8_names_the_line(tmp_path):
    data = (json.dumps(ROWS[0]) + "\n").encode() + b'{"q": "caf\xe9", "a": "x", "votes": 1}\n'
    for name, P in [("u.jsonl", JsonlSourceParams), ("u.csv", CsvSourceParams)]:
        path = tmp_path / name
        path.write_bytes(data if name.endswith("jsonl") else b"q,a,votes\nok,fine,1\ncaf\xe9,x,1\n")
        with pytest.raises(UserError, match="line [23]: not valid UTF-8") as exc:
            load(P(path=path, columns=COLUMNS | {"response_id": None}))
        assert exc.value.file == str(path)


def test_bad_json_line(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json\n")
    with pytest.raises(UserError, match="line 2, column 2: not valid JSON"):
        load(JsonlSourceParams(path=path, columns=COLUMNS))


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_a_one_megabyte_response_loads(tmp_path, fmt):
    rows = [dict(r) for r in ROWS]
    rows[1]["a"] = "word " * 200_000  # 1 MB
    writer = {"jsonl": write_jsonl, "csv": write_csv, "parquet": write_parquet}[fmt]
    P = {"jsonl": JsonlSourceParams, "csv": CsvSourceParams, "parquet": ParquetSourceParams}[fmt]
    groups, _ = load(P(path=writer(tmp_path / f"big.{fmt}", rows), columns=COLUMNS))
    assert len(groups[0].responses[1].text) == 1_000_000


def test_non_text_response_and_kjv_fixture(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "p", "response": 5, "score": 1}])
    with pytest.raises(UserError, match="response must be text, got int"):
        load(JsonlSourceParams(path=path))
    groups, _ = load(JsonlSourceParams(path=KJV))
    assert len(groups) == 13 and sum(len(g.responses) for g in groups) == 388


def test_hf_source_passes_revision_split_and_data_files(monkeypatch, tmp_path):
    import datasets

    seen = {}
    real = datasets.load_dataset

    def spy(name, config=None, **kwargs):
        seen.update(name=name, config=config, **kwargs)
        return real("json", data_files=str(write_jsonl(tmp_path / "d.jsonl", [
            {"post_title": "[WP] T", "post_text": "x", "comment_texts": ["a", "b"], "comment_scores": [1, 2]}])),
            split="train", cache_dir=str(tmp_path / "c"))

    monkeypatch.setattr(datasets, "load_dataset", spy)
    params = WritingPromptsSourceParams(revision="abc123", split="train[:10]", data_files={"train": "x.parquet"})
    groups, src = load(params)
    assert seen == {"name": "euclaise/WritingPrompts_preferences", "config": None, "revision": "abc123",
                    "split": "train[:10]", "data_files": {"train": "x.parquet"}}
    assert groups[0].prompt == "T\nx" and src.identity()["revision"] == "abc123"


def test_hf_source_missing_dataset_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="could not load|not found"):
        load(HfDatasetSourceParams(name=str(tmp_path / "nothing-here"), cache_dir=tmp_path / "c"))


def test_lone_surrogate_is_a_bad_row(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"prompt": "p", "response": "bad \\ud800 text", "score": 1}\n', encoding="utf-8")
    with pytest.raises(UserError, match="line 1: response holds an invalid character"):
        load(JsonlSourceParams(path=path))


def test_not_parquet_and_ragged_csv(tmp_path):
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(UserError, match="not a readable Parquet file") as exc:
        load(ParquetSourceParams(path=bad))
    assert exc.value.file == str(bad)
    ragged = tmp_path / "r.csv"
    ragged.write_text("prompt,response,score\np,a,1\np,b\n")
    with pytest.raises(UserError, match="line 3: 2 fields, the header has 3"):
        load(CsvSourceParams(path=ragged))


def test_writingprompts_bad_rows_error_or_drop(tmp_path):
    rows = [{"post_title": "[WP] ok", "post_text": "", "comment_texts": ["a", "b"], "comment_scores": [1, 2]},
            {"post_title": "[WP] bad", "post_text": "", "comment_texts": ["a", "b"], "comment_scores": [1, "x"]},
            {"post_title": "[WP] short", "post_text": "", "comment_texts": ["a", "b"], "comment_scores": [1]}]
    path = write_jsonl(tmp_path / "wp.jsonl", rows)
    with pytest.raises(UserError, match="line 2: score 'x' is not a number"):
        load(WritingPromptsSourceParams(path=path))
    groups, src = load(WritingPromptsSourceParams(path=path, on_bad_row="drop"))
    assert [g.prompt for g in groups] == ["ok"] and src.dropped == {"bad_score": 1, "length_mismatch": 1}


def test_writingprompts_uses_comment_ids_when_present(tmp_path):
    row = {"post_title": "[WP] t", "post_text": "", "comment_ids": ["c1", "c2"], "comment_texts": ["a", "b"],
           "comment_scores": [3, 1]}
    groups, _ = load(WritingPromptsSourceParams(path=write_jsonl(tmp_path / "w.jsonl", [row])))
    assert [r.id for r in groups[0].responses] == ["c1", "c2"] and groups[0].prompt_id == prompt_id_for("t")
