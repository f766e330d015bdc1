"""Issue #13, "tried as a new user would": the docs' own CSV -> prepare -> SFT -> DDPO blocks
(docs/training.md, "From your own CSV to DDPO") run on the first try through the CLI, with a
tiny model in place of the preset."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

ROOT = Path(__file__).resolve().parents[2]


def _blocks() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    section = text.split("## From your own CSV to DDPO", 1)[1].split("\n## ", 1)[0]
    out: dict[str, list[str]] = {}
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S):
        out.setdefault(lang, []).append(body)
    return out


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "divtools.cli.main", *args], capture_output=True, text=True, cwd=cwd)


def test_the_docs_blocks_are_there():
    blocks = _blocks()
    assert len(blocks["yaml"]) == 2 and blocks["csv"][0].startswith("question,answer,votes")
    assert "divtools run train.yaml" in blocks["bash"][0]


@pytest.mark.slow
def test_ddpo_on_a_users_csv_trains_on_the_first_run(tmp_path, kjv_texts, tiny_lm_dir):
    blocks = _blocks()
    prepare_yaml, train_yaml = blocks["yaml"]
    (tmp_path / "prepare.yaml").write_text(prepare_yaml, encoding="utf-8")
    (tmp_path / "train.yaml").write_text(train_yaml, encoding="utf-8")
    header = blocks["csv"][0].splitlines()[0].split(",")
    with open(tmp_path / "stories.csv", "w", newline="", encoding="utf-8") as fh:  # the user's own data
        writer = csv.writer(fh)
        writer.writerow(header)
        for p in range(10):
            for j in range(6):
                writer.writerow([f"Write a short saying about topic {p}.", kjv_texts[(6 * p + j) % len(kjv_texts)], 7 * j + p % 3])

    prep = _cli("run", "prepare.yaml", cwd=tmp_path)
    assert prep.returncode == 0, prep.stderr[-3000:]
    assert (tmp_path / "prepared" / "train.jsonl").exists() and (tmp_path / "prepared" / "eval.jsonl").exists()

    small = [f"model={tiny_lm_dir}"]
    for stage in ("sft", "ddpo"):
        small += [f"stages.{stage}.args.max_steps=2", f"stages.{stage}.args.max_length=64",
                  f"stages.{stage}.args.per_device_train_batch_size=2", f"stages.{stage}.args.logging_steps=1"]
    small += ["stages.ddpo.args.eval_steps=2"]
    sets = [x for s in small for x in ("--set", s)]
    assert _cli("validate", "train.yaml", *sets, cwd=tmp_path).returncode == 0
    train = _cli("run", "train.yaml", *sets, cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    out = tmp_path / "runs" / "ddpo"
    assert (out / "ddpo" / "adapter_config.json").exists()
    log = [json.loads(line) for line in (out / "ddpo" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss/weighted" in r] == [1, 2]
    assert any("eval_loss" in r for r in log)  # the held-out pairs were evaluated
