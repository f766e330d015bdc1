"""validate-scorer's position-bias check of an LLM judge, against the local fake chat server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from divtools.builtins.scorers import LLMJudgeParams
from divtools.evaluate.scorer_validation import read_pairs, validate_scorer
from divtools.scorers.llm_judge import LLMJudgeScorer

PAIRS = Path(__file__).parents[1] / "evaluate" / "data" / "human_pairs.jsonl"
COLUMNS = {"prompt": "prompt", "chosen": "chosen_story", "rejected": "rejected_story"}


def _judge_reply(first_bias: bool):
    """Pointwise: 'Score: <words>'. Pairwise: always 'A' (first_bias), or the longer response."""
    def reply(body):
        text = body["messages"][-1]["content"]
        if "Response A:" in text:
            if first_bias:
                return ["A"]
            a = re.search(r"Response A:\n(.*?)\n\nResponse B:", text, re.S).group(1)
            b = re.search(r"Response B:\n(.*?)\n\nWhich", text, re.S).group(1)
            return ["A" if len(a.split()) >= len(b.split()) else "B"]
        response = re.search(r"Response:\n(.*?)\n\nRate", text, re.S).group(1)
        return [f"Score: {min(10, max(1, len(response.split()) // 5))}"]
    return reply


@pytest.mark.parametrize("first_bias", [True, False])
def test_position_bias_in_both_orders(chat_server, fast_connection, first_bias):
    chat_server.reply = _judge_reply(first_bias)
    pairs = read_pairs(PAIRS, COLUMNS)
    scorer = LLMJudgeScorer(LLMJudgeParams(**fast_connection))
    record = validate_scorer(scorer, pairs, kind="llm_judge", position_bias=True)
    pb = record["position_bias"]
    assert pb["n"] == 40
    asked = [r for r in chat_server.requests if "Response A:" in r["body"]["messages"][-1]["content"]]
    assert len(asked) == 80  # every pair, in both orders
    if first_bias:
        # always "A": the first shown wins every time, never the same text in both orders
        assert pb["first_position_rate"] == 1.0 and pb["consistency"] == 0.0 and pb["pairwise_accuracy"] == 0.5
    else:
        # a length judge: consistent, no position preference beyond the data's, right on the 24 truncations
        assert pb["consistency"] == 1.0 and pb["pairwise_accuracy"] == pytest.approx(24 / 40)
        assert pb["first_position_rate"] == pytest.approx(0.5)
    assert json.dumps(record)  # JSON-able for report.json
