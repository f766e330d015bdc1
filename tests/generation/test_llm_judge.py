"""The llm_judge scorer against a local fake server: rubric prompt, score parsing, retries and
clear errors on replies that hold no usable score."""

from __future__ import annotations

import re

import numpy as np
import pytest

from divtools.builtins.scorers import LLMJudgeParams
from divtools.generation.openai_client import MalformedResponseError, ServerError
from divtools.scorers.llm_judge import LLMJudgeScorer, parse_score


@pytest.mark.parametrize(
    "reply, value",
    [("7", 7.0), (" 7.5 \n", 7.5), ("8/10", 8.0), ("**9**", 9.0), ("Score: 6", 6.0), ("score = 3.5", 3.5),
     ("The story is vivid.\nScore: 4\n", 4.0), ("First score: 2. On reflection, Score: 5", 5.0), ("10.", 10.0)],
)
def test_parse_score_accepts(reply, value):
    assert parse_score(reply, min_score=1, max_score=10) == value


@pytest.mark.parametrize("reply", ["", "I liked it a lot", "It deserves 7 out of 10", "Score: eleven", "11", "0"])
def test_parse_score_rejects(reply):
    with pytest.raises(ValueError):
        parse_score(reply, min_score=1, max_score=10)


def judge(conn, **extra) -> LLMJudgeScorer:
    return LLMJudgeScorer(LLMJudgeParams(**conn, **extra))


def test_scores_come_from_the_judges_replies(chat_server, fast_connection):
    # the fake judge gives the response's word count as its score
    def reply(body):
        text = body["messages"][-1]["content"]
        response = re.search(r"Response:\n(.*?)\n\nRate", text, re.S).group(1)
        return [f"Score: {len(response.split())}"]

    chat_server.reply = reply
    scorer = judge(fast_connection, rubric="Judge the imagery.")
    responses = ["one two three", "a b c d e f", "x"]
    scores = scorer.score(["P1", "P2", "P3"], responses)
    np.testing.assert_array_equal(scores, [3.0, 6.0, 1.0])
    body = chat_server.requests[0]["body"]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 256
    assert body["messages"][0]["role"] == "system"
    user = body["messages"][1]["content"]
    assert user.startswith("Judge the imagery.") and "Prompt:\nP1" in user and "from 1 (worst) to 10 (best)" in user
    assert len({r["body"]["seed"] for r in chat_server.requests}) == 3


def test_concurrency_keeps_order(chat_server, fast_connection):
    chat_server.reply = lambda body: [str(len(body["messages"][-1]["content"]) % 10 + 1)]
    prompts = [f"prompt {i}" * (i + 1) for i in range(12)]
    responses = ["r"] * 12
    serial = judge(fast_connection, cache=False).score(prompts, responses)
    parallel = judge(fast_connection, concurrency=4, cache=False).score(prompts, responses)
    np.testing.assert_array_equal(serial, parallel)


def test_unreadable_reply_is_asked_again_then_missing(chat_server, fast_connection):
    replies = iter(["8"] + ["The response is charming but I won't give a number."] * 3)
    chat_server.reply = lambda body: [next(replies)]
    scorer = judge(fast_connection, reask=2)
    scores = scorer.score(["a", "b"], ["x", "y"])
    assert scores[0] == 8.0 and np.isnan(scores[1])  # missing, never a number
    assert len(chat_server.requests) == 1 + 3  # item 2: the first ask and two re-asks
    last = chat_server.requests[-1]["body"]["messages"]
    assert [m["role"] for m in last[-4:]] == ["assistant", "user", "assistant", "user"]
    assert last[-1]["content"].startswith("Your reply had no readable score") and "from 1 to 10" in last[-1]["content"]
    assert len(scorer.unscored) == 1 and re.match(r"item 2: no score.*charming", scorer.unscored[0])


def test_reask_recovers_a_score(chat_server, fast_connection):
    replies = iter(["Well, a classic example of the genre.", "Score: 6"])
    chat_server.reply = lambda body: [next(replies)]
    scorer = judge(fast_connection)
    assert scorer.score(["a"], ["x"]).tolist() == [6.0] and scorer.unscored == []


def test_out_of_range_score_is_missing(chat_server, fast_connection):
    chat_server.reply = lambda body: ["Score: 42"]
    scorer = judge(fast_connection, reask=0)
    assert np.isnan(scorer.score(["a"], ["x"])[0])
    assert "score 42 is outside [1, 10]" in scorer.unscored[0]


def test_constrained_output_asks_for_a_json_score(chat_server, fast_connection):
    chat_server.reply = lambda body: ['{"score": 7}']
    scorer = judge(fast_connection, min_score=1, max_score=5 * 2)
    assert scorer.score(["a"], ["x"]).tolist() == [7.0]
    fmt = chat_server.requests[0]["body"]["response_format"]
    assert fmt["type"] == "json_schema"
    score = fmt["json_schema"]["schema"]["properties"]["score"]
    assert score == {"type": "number", "minimum": 1.0, "maximum": 10.0}
    assert fmt["json_schema"]["schema"]["required"] == ["score"]
    chat_server.requests.clear()
    judge(fast_connection, constrained="off", cache=False).score(["a"], ["x"])
    assert "response_format" not in chat_server.requests[0]["body"]


def test_a_server_refusing_constrained_output_is_judged_without_it(chat_server, fast_connection):
    chat_server.reply = lambda body: ["Score: 4"]
    chat_server.script = [("status", 400), ("status", 422)]
    scorer = judge(fast_connection, cache=False)
    assert scorer.score(["a", "b"], ["x", "y"]).tolist() == [4.0, 4.0]
    sent = [r["body"].get("response_format", {}).get("type") for r in chat_server.requests]
    assert sent == ["json_schema", "json_object", None, None]  # each refused form dropped for good
    assert scorer.notes == ["the server refused response_format json_schema (HTTP 400); trying json_object",
                            "the server refused response_format json_object (HTTP 422); judged without constrained output"]


def test_a_server_error_naming_response_format_is_a_refusal_too(chat_server, fast_connection):
    """llama-cpp-python's server (0.3.16) answers json_schema with HTTP 500 and a pydantic message;
    the judge retries it like any 500, then drops the form and goes on with json_object. A 500
    that does not name the field is a server failure and stops the run."""
    body = (b'{"error": {"message": "1 validation error: {\'type\': \'literal_error\', \'loc\': (\'body\', '
            b'\'response_format\', \'type\'), \'msg\': \"Input should be \'text\' or \'json_object\'\"}"}}')
    chat_server.reply = lambda body: ['{"score": 6}']
    scorer = judge(fast_connection, cache=False)
    tries = scorer.params.max_retries + 1
    chat_server.script = [("status", 500, {}, body)] * tries
    assert scorer.score(["a", "b"], ["x", "y"]).tolist() == [6.0, 6.0]
    sent = [r["body"].get("response_format", {}).get("type") for r in chat_server.requests]
    assert sent == ["json_schema"] * tries + ["json_object", "json_object"]
    assert scorer.notes == ["the server refused response_format json_schema (HTTP 500); trying json_object"]

    chat_server.requests.clear()
    other = judge(fast_connection, cache=False)
    chat_server.script = [("status", 500)] * (other.params.max_retries + 1)
    with pytest.raises(ServerError, match="scripted failure"):
        other.score(["a"], ["x"])


def test_json_object_form_carries_the_schema(chat_server, fast_connection):
    chat_server.reply = lambda body: ['{"score": 3}']
    scorer = judge(fast_connection, constrained="json_object")
    assert scorer.score(["a"], ["x"]).tolist() == [3.0]
    fmt = chat_server.requests[0]["body"]["response_format"]
    assert fmt["type"] == "json_object" and fmt["schema"]["properties"]["score"]["maximum"] == 10.0


@pytest.mark.parametrize("reply, value", [('{"score": 7}', 7.0), ('{"score": 2.5}', 2.5), ("{\"score\": 10}", 10.0)])
def test_parse_score_reads_json(reply, value):
    assert parse_score(reply, min_score=1, max_score=10) == value


@pytest.mark.parametrize("reply", ['{"score": "seven"}', '{"score": true}', '{"score": 11}', '{"grade": 7}'])
def test_parse_score_rejects_bad_json(reply):
    with pytest.raises(ValueError):
        parse_score(reply, min_score=1, max_score=10)


def test_malformed_http_body_and_retries(chat_server, fast_connection):
    chat_server.reply = lambda body: ["5"]
    chat_server.script = [("status", 429), ("status", 502)]
    scorer = judge(fast_connection)
    assert scorer.score(["a"], ["x"]).tolist() == [5.0]
    assert scorer.client.waits == pytest.approx([0.01, 0.02])
    chat_server.script = [("raw", b"Bad Gateway")]
    with pytest.raises(MalformedResponseError, match="not JSON"):
        scorer.score(["b"], ["y"])  # (a new item: ("a", "x") is cached now)
    chat_server.script = [("sleep", 1.0)] * 4
    with pytest.raises(ServerError, match="no answer within"):
        judge({**fast_connection, "timeout_s": 0.2, "max_retries": 1}).score(["c"], ["z"])


def test_params_validation():
    with pytest.raises(ValueError, match="min_score must be below max_score"):
        LLMJudgeParams(model="m", min_score=5, max_score=5)
    with pytest.raises(ValueError, match="must contain"):
        LLMJudgeParams(model="m", prompt_template="{rubric} only")


def test_registered(chat_server, fast_connection):
    from divtools.plugins import load_plugins

    info = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}).registries["scorer"].get("llm_judge")
    chat_server.reply = lambda body: ["3"]
    scorer = info.build(info.params(kind="llm_judge", **fast_connection))
    assert scorer.score(["p"], ["r"]).tolist() == [3.0]


def test_judgements_are_cached_and_a_failed_run_resumes(chat_server, fast_connection, private_cache):
    def reply(body):
        return [f"Score: {len(body['messages'][-1]['content']) % 9 + 1}.3"]

    chat_server.reply = reply
    prompts = [f"prompt {i}" for i in range(24)]
    responses = [f"response {'x' * i}" for i in range(24)]
    # the 20th request gets a body that is no chat completion: a server error stops the run
    chat_server.script = [("answer",)] * 19 + [("json", {"choices": "not a list"})]
    with pytest.raises(MalformedResponseError):
        judge(fast_connection).score(prompts, responses)
    assert len(chat_server.requests) == 20
    chat_server.requests.clear()
    first = judge(fast_connection).score(prompts, responses)
    assert len(chat_server.requests) == 5  # only the items the failed run had not judged
    chat_server.requests.clear()
    again = judge(fast_connection).score(prompts, responses)
    assert chat_server.requests == []
    np.testing.assert_array_equal(first, again)  # 12 significant digits survive the cache exactly
    assert all(str(v).endswith(".3") for v in again)
    uncached = judge(fast_connection, cache=False).score(prompts, responses)
    np.testing.assert_array_equal(uncached, first)
    assert len(chat_server.requests) == 24
    chat_server.requests.clear()
    judge(fast_connection, rubric="Another rubric.").score(prompts[:3], responses[:3])
    assert len(chat_server.requests) == 3  # a changed rubric is a different judge
    assert any(private_cache.rglob("*.pack"))
