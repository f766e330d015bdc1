"""``human-eval make`` builds blinded, seeded items with a key kept apart; ``analyze`` maps the
page's left/right answers back to systems through the key and counts them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from scipy.stats import binomtest

from divtools.cli.main import cli


def _cli(*args: str):
    return CliRunner().invoke(cli, list(args))


def _make(run_dir: Path, out: Path, *extra: str):
    result = _cli("human-eval", "make", str(run_dir), "--systems", "ddpo", "sft", "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    key = json.loads(out.with_name(out.name + "-key.json").read_text())
    return items, key


def test_items_are_blinded_seeded_and_the_key_is_apart(run_dir, tmp_path):
    items, key = _make(run_dir, tmp_path / "a", "--repeats", "2", "--seed", "5")
    again, key2 = _make(run_dir, tmp_path / "b", "--repeats", "2", "--seed", "5")
    assert [i["left"] for i in items] == [i["left"] for i in again] and key["items"] == key2["items"]
    other, key3 = _make(run_dir, tmp_path / "c", "--repeats", "2", "--seed", "6")
    assert key3["items"] != key["items"]  # another seed, another order/sides
    assert len(items) == 6 + 2 and all(len(i["left"]) == len(i["right"]) == 4 for i in items)
    assert not any(p.name.endswith("key.json") for p in (tmp_path / "a").iterdir())
    # nothing annotators get names a system
    shown = (tmp_path / "a" / "items.jsonl").read_text() + (tmp_path / "a" / "annotate.html").read_text()
    for name in ("ddpo", "sft", "dpo"):
        assert f'"{name}"' not in shown and f"{name}-vs" not in shown
    # each set is the system's samples for that prompt, as the key says
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    text = {(s["system"], s["prompt_id"], s["k"]): s["response"] for s in samples}
    for item in items:
        entry = key["items"][item["item_id"]]
        for side in ("left", "right"):
            assert item[side] == [text[(entry[side], entry["prompt_id"], k)] for k in entry[f"{side}_k"]]
    # both sides are used; repeats come last, show an earlier item with its sides swapped
    originals = [key["items"][i["item_id"]] for i in items[:6]]
    assert {e["left"] for e in originals} == {"ddpo", "sft"}
    for item in items[6:]:
        entry = key["items"][item["item_id"]]
        first = key["items"][entry["repeat_of"]]
        assert first["prompt_id"] == entry["prompt_id"] and (first["left"], first["right"]) == (entry["right"], entry["left"])


def test_make_refuses_bad_input(run_dir, tmp_path):
    bad = _cli("human-eval", "make", str(run_dir), "--systems", "ddpo", "nope", "--out", str(tmp_path / "x"))
    assert bad.exit_code == 2 and "no system 'nope'" in bad.output and "ddpo" in bad.output
    assert not (tmp_path / "x").exists()
    inside = _cli("human-eval", "make", str(run_dir), "--systems", "ddpo", "sft", "--out", str(tmp_path / "y"),
                  "--key", str(tmp_path / "y" / "key.json"))
    assert inside.exit_code == 2 and "must not be inside the items folder" in inside.output
    many = _cli("human-eval", "make", str(run_dir), "--systems", "ddpo", "sft", "--out", str(tmp_path / "z"),
                "--k", "5")
    assert many.exit_code == 2 and "no prompt has 5 samples" in many.output
    # a key of another study is not replaced by accident (its judgements would be misread)
    _make(run_dir, tmp_path / "s")
    again = _cli("human-eval", "make", str(run_dir), "--systems", "ddpo", "sft", "--out", str(tmp_path / "s"))
    assert again.exit_code == 0, again.output  # the same study: rewritten, same content
    other = _cli("human-eval", "make", str(run_dir), "--systems", "ddpo", "sft", "--out", str(tmp_path / "s"),
                 "--seed", "9")
    assert other.exit_code == 2 and "a key of another study" in other.output
    forced = _cli("human-eval", "make", str(run_dir), "--systems", "ddpo", "sft", "--out", str(tmp_path / "s"),
                  "--seed", "9", "--force")
    assert forced.exit_code == 0, forced.output


def _judgement(item_id: str, annotator: str, diverse: str, best: str, when: str = "2026-01-01T00:00:00") -> dict:
    return {"study_id": None, "item_id": item_id, "annotator": annotator, "diverse": diverse, "best_story": best,
            "comment": "", "saved_at": when}


def test_analyze_maps_sides_to_systems_and_counts(run_dir, tmp_path):
    items, key = _make(run_dir, tmp_path / "s", "--repeats", "2")
    study = key["study_id"]
    rows = []
    # annotator x always picks ddpo as more diverse and sft's set for the best story;
    # annotator y picks the left set for diversity and says tie for the best story
    for item in items:
        entry = key["items"][item["item_id"]]
        ddpo_side = "left" if entry["left"] == "ddpo" else "right"
        sft_side = "right" if ddpo_side == "left" else "left"
        rows.append(_judgement(item["item_id"], "x", ddpo_side, sft_side))
        rows.append(_judgement(item["item_id"], "y", "left", "tie"))
    # a stale earlier answer of x to the first item: the later one counts
    rows.insert(0, _judgement(items[0]["item_id"], "x", "tie", "tie", when="2025-01-01T00:00:00"))
    for r in rows:
        r["study_id"] = study
    (tmp_path / "j.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = _cli("human-eval", "analyze", str(tmp_path / "j.jsonl"), "--key", str(tmp_path / "s-key.json"),
                  "--out", str(tmp_path / "analysis.json"))
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "analysis.json").read_text())
    assert out["systems"] == {"A": "ddpo", "B": "sft"}
    originals = [key["items"][i["item_id"]] for i in items[:6]]
    y_left_is_ddpo = sum(e["left"] == "ddpo" for e in originals)
    div = out["questions"]["diverse"]["rates"]
    assert (div["n"], div["wins"], div["losses"], div["ties"]) == (12, 6 + y_left_is_ddpo, 6 - y_left_is_ddpo, 0)
    assert div["sign_test_p"] == pytest.approx(binomtest(div["wins"], 12, 0.5).pvalue)
    per = out["questions"]["diverse"]["by_annotator"]
    assert (per["x"]["wins"], per["x"]["n"]) == (6, 6) and per["y"]["wins"] == y_left_is_ddpo
    best = out["questions"]["best_story"]["rates"]
    assert (best["wins"], best["losses"], best["ties"]) == (0, 6, 6)
    # x is consistent on both repeats (answers by system); y, always "left", flips system on each
    cons = out["questions"]["diverse"]["consistency"]
    assert (cons["n"], cons["agree"]) == (4, 2)
    bias = out["questions"]["diverse"]["position_bias"]  # all 16 answers, repeats included
    assert bias["n_decided"] == 16 and bias["left"] == 8 + sum(key["items"][i["item_id"]]["left"] == "ddpo" for i in items)
    assert out["questions"]["diverse"]["agreement"]["cohen_kappa"] is not None
    paragraph = (tmp_path / "analysis.md").read_text()
    assert "ddpo" in paragraph and "sign test" in paragraph and "Cohen's κ" in paragraph


def test_analyze_refuses_judgements_that_do_not_fit_the_key(run_dir, tmp_path):
    items, key = _make(run_dir, tmp_path / "s")
    (tmp_path / "j.jsonl").write_text(json.dumps(_judgement("item-999", "x", "left", "left")) + "\n")
    result = _cli("human-eval", "analyze", str(tmp_path / "j.jsonl"), "--key", str(tmp_path / "s-key.json"))
    assert result.exit_code == 2 and "item 'item-999' is not in the key" in result.output and "line 1" in result.output
    (tmp_path / "j.jsonl").write_text(json.dumps(_judgement(items[0]["item_id"], "x", "up", "left")) + "\n")
    result = _cli("human-eval", "analyze", str(tmp_path / "j.jsonl"), "--key", str(tmp_path / "s-key.json"))
    assert result.exit_code == 2 and "'diverse' is 'up'" in result.output
    result = _cli("human-eval", "analyze", str(tmp_path / "j.jsonl"), "--key", str(tmp_path / "s" / "items.jsonl"))
    assert result.exit_code == 2 and "not a JSON key file" in result.output


def test_potato_export(run_dir, tmp_path):
    items, _ = _make(run_dir, tmp_path / "s")
    result = _cli("human-eval", "export-potato", str(tmp_path / "s"), "--out", str(tmp_path / "potato"))
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "potato" / "config.yaml").read_text())
    assert config["data_files"] == ["data/items.jsonl"] and config["item_properties"] == {"id_key": "id", "text_key": "text"}
    assert [s["name"] for s in config["annotation_schemes"]] == ["diverse", "best_story", "comment"]
    rows = [json.loads(line) for line in (tmp_path / "potato" / "data" / "items.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [i["item_id"] for i in items]
    assert all(story.split()[0] in r["text"] for r, i in zip(rows, items) for story in i["left"] + i["right"])
