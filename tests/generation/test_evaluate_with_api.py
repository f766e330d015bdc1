"""A whole evaluate run whose system is an OpenAI-compatible API and whose quality scorer is an
LLM judge, both served by the local fake server: the planted API key is in no file the run
writes, and a malformed judge reply leaves no report."""

from __future__ import annotations

import json

import pytest

from divtools.errors import UserError

SECRET = "sk-e2e-PLANTED-9d8c7b6a5f"


def spec_data(chat_server, tmp_path) -> dict:
    (tmp_path / "prompts.jsonl").write_text(
        "".join(json.dumps({"prompt_id": f"p{i}", "prompt": f"Write about the number {i}."}) + "\n" for i in range(4))
    )
    conn = {"model": "fake", "base_url": chat_server.url, "api_key_env": "DIVTOOLS_E2E_KEY",
            "backoff_base_s": 0.01, "backoff_max_s": 0.02, "max_retries": 2}
    return {
        "run": "evaluate",
        "seed": 0,
        "prompts": {"path": "prompts.jsonl"},
        "systems": [{"name": "api", "backend": {"kind": "openai_compatible", "mode": "iterative", **conn}, "num_samples": 3}],
        "metrics": [{"kind": "distinct_n", "n": 1}],
        "scorers": [{"kind": "llm_judge", **conn}],
        "reporters": [{"kind": "json"}, {"kind": "markdown"}],
        "bootstrap_samples": 100,
        "output": {"dir": "out"},
    }


def judge_or_write(body):
    text = body["messages"][-1]["content"]
    if "Rate the response" in text:
        return ["Score: 7"]
    return [f"a story {len(body['messages'][-1]['content'])} words long"]


def test_api_key_is_in_no_file_of_the_run(chat_server, tmp_path, monkeypatch):
    from divtools.runs import run_spec_data

    monkeypatch.setenv("DIVTOOLS_E2E_KEY", SECRET)
    chat_server.reply = judge_or_write
    chat_server.script = [("status", 429)]  # one retry on the way
    report = run_spec_data(spec_data(chat_server, tmp_path), file="spec.yaml", base_dir=tmp_path, quiet=True)
    assert report.exists()
    assert all(r["headers"].get("Authorization") == f"Bearer {SECRET}" for r in chat_server.requests)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # the run's output and the judge cache
    assert any(p.name == "api.jsonl" for p in files) and any(p.name == "report.json" for p in files)
    assert any(p.suffix == ".pack" for p in files)
    for path in files:
        data = path.read_bytes()
        assert SECRET.encode() not in data and b"PLANTED" not in data, path
    rows = [json.loads(line) for line in (tmp_path / "out" / "generations" / "api.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and {r["sample"] for r in rows} == {0, 1, 2}
    assert "7" in (tmp_path / "out" / "report.md").read_text()


def test_malformed_judge_reply_leaves_no_report(chat_server, tmp_path, monkeypatch):
    from divtools.runs import run_spec_data

    monkeypatch.setenv("DIVTOOLS_E2E_KEY", SECRET)

    def reply(body):
        if any(m in body["messages"][-1]["content"] for m in ("Rate the response", "no readable score")):
            return ["A lovely story!"]
        return ["a story"]

    chat_server.reply = reply
    # every judgement unreadable (after re-asking): past max_missing_share, so no report
    with pytest.raises(UserError, match="without a score.*A lovely story"):
        run_spec_data(spec_data(chat_server, tmp_path), file="spec.yaml", base_dir=tmp_path, quiet=True)
    assert not (tmp_path / "out" / "report.json").exists()
    assert not (tmp_path / "out" / "report.md").exists()
    # the generations survived: a rerun after fixing the judge does not generate again
    judging = ("Rate the response", "no readable score")
    generated = len([r for r in chat_server.requests
                     if not any(m in r["body"]["messages"][-1]["content"] for m in judging)])
    assert generated == 12
    chat_server.reply = judge_or_write
    chat_server.requests.clear()
    run_spec_data(spec_data(chat_server, tmp_path), file="spec.yaml", base_dir=tmp_path, quiet=True)
    assert all("Rate the response" in r["body"]["messages"][-1]["content"] for r in chat_server.requests)
    assert (tmp_path / "out" / "report.json").exists()
