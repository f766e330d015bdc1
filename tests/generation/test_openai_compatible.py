"""The openai_compatible backend against a local fake server: sampling modes, retries with
backoff, timeouts, malformed answers, and the API key staying out of every file."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from divtools.builtins.backends import OpenAICompatibleParams
from divtools.errors import UserError
from divtools.generation.driver import generate_to_jsonl, read_generations
from divtools.generation.openai_client import ChatClient, MalformedResponseError, ServerError
from divtools.generation.openai_compatible import OpenAICompatibleBackend

SECRET = "sk-planted-SECRET-4f9c2e1b7a"


def backend(conn, **extra) -> OpenAICompatibleBackend:
    return OpenAICompatibleBackend(OpenAICompatibleParams(**conn, **extra))


def user_messages(server) -> list[str]:
    return [r["body"]["messages"][-1]["content"] for r in server.requests]


def test_independent_samples_k_requests_with_distinct_stable_seeds(chat_server, fast_connection):
    out = backend(fast_connection).generate(["Write about a dragon.", "Write about the sea."], num_samples=3, seed=7)
    assert [len(x) for x in out] == [3, 3]
    assert len(chat_server.requests) == 6
    bodies = [r["body"] for r in chat_server.requests]
    assert all(r["path"] == "/v1/chat/completions" for r in chat_server.requests)
    assert bodies[0]["model"] == "fake-model"
    assert bodies[0]["temperature"] == 1.0 and bodies[0]["top_p"] == 0.95 and bodies[0]["max_tokens"] == 2048
    assert "top_k" not in bodies[0] and "repetition_penalty" not in bodies[0]  # OpenAI would reject them
    seeds = [b["seed"] for b in bodies]
    assert len(set(seeds)) == 6
    # the texts are what the server sent, in order
    assert out[0][1] == f"story seed={seeds[1]} choice=0 about {'Write about a dragon.'!r}"
    first = list(chat_server.requests)
    chat_server.requests.clear()
    again = backend(fast_connection).generate(["Write about a dragon.", "Write about the sea."], num_samples=3, seed=7)
    assert again == out
    assert [r["body"] for r in chat_server.requests] == [r["body"] for r in first]


def test_all_samples_in_one_request_and_optional_fields(chat_server, fast_connection):
    b = backend(fast_connection, samples_per_request="all", top_k=50, repetition_penalty=1.1,
                system_prompt="You write stories.", extra_body={"min_p": 0.05})
    out = b.generate(["p"], num_samples=4, seed=0)
    assert len(out[0]) == 4 and len(chat_server.requests) == 1
    body = chat_server.requests[0]["body"]
    assert body["n"] == 4 and body["top_k"] == 50 and body["repetition_penalty"] == 1.1 and body["min_p"] == 0.05
    assert body["messages"][0] == {"role": "system", "content": "You write stories."}


def test_iterative_mode_shows_earlier_samples(chat_server, fast_connection):
    counter = iter(range(100))
    chat_server.reply = lambda body: [f"UNIQUE-STORY-{next(counter)}"]
    out = backend(fast_connection, mode="iterative").generate(["Tell a tale of a king."], num_samples=3, seed=1)
    assert out == [["UNIQUE-STORY-0", "UNIQUE-STORY-1", "UNIQUE-STORY-2"]]
    sent = user_messages(chat_server)
    assert sent[0] == "Tell a tale of a king."
    assert "UNIQUE-STORY-0" in sent[1] and "UNIQUE-STORY-1" not in sent[1]
    assert "UNIQUE-STORY-0" in sent[2] and "UNIQUE-STORY-1" in sent[2]
    assert all("Tell a tale of a king." in s for s in sent)
    assert "different from all of the responses above" in sent[2]


def test_iterative_template_is_filled_in_one_pass(chat_server, fast_connection):
    chat_server.reply = lambda body: ["a {prompt} inside a story"]
    b = backend(fast_connection, mode="iterative", iterative_template="P={prompt} PREV={previous}")
    b.generate(["X"], num_samples=2, seed=0)
    assert user_messages(chat_server)[1] == "P=X PREV=Response 1:\na {prompt} inside a story"


def test_retry_on_429_and_500_with_exponential_backoff(chat_server, fast_connection):
    chat_server.script = [("status", 429), ("status", 500), ("status", 503)]
    client = ChatClient(OpenAICompatibleParams(**{**fast_connection, "backoff_max_s": 1.0}))
    texts = client.chat([{"role": "user", "content": "hi"}])
    assert len(texts) == 1 and len(chat_server.requests) == 4
    assert client.waits == pytest.approx([0.01, 0.02, 0.04])
    gaps = [b - a for a, b in zip(chat_server.times, chat_server.times[1:])]
    assert all(g >= w * 0.9 for g, w in zip(gaps, client.waits))  # it really waited


def test_retry_after_header_is_honoured_up_to_the_cap(chat_server, fast_connection):
    chat_server.script = [("status", 429, {"Retry-After": "0.2"}), ("status", 429, {"Retry-After": "999"})]
    client = ChatClient(OpenAICompatibleParams(**{**fast_connection, "backoff_max_s": 0.3}))
    client.chat([{"role": "user", "content": "hi"}])
    assert client.waits == pytest.approx([0.2, 0.3])


def test_retries_exhausted_is_a_clear_error(chat_server, fast_connection):
    chat_server.script = [("status", 500)] * 10
    with pytest.raises(ServerError, match=r"failed 4 time\(s\).*HTTP 500"):
        backend(fast_connection).generate(["p"], num_samples=1, seed=0)
    assert len(chat_server.requests) == 4


def test_client_error_is_not_retried(chat_server, fast_connection):
    chat_server.script = [("status", 400)]
    with pytest.raises(ServerError, match="HTTP 400.*scripted failure"):
        backend(fast_connection).generate(["p"], num_samples=1, seed=0)
    assert len(chat_server.requests) == 1


def test_timeout_is_retried_then_reported(chat_server, fast_connection):
    conn = {**fast_connection, "timeout_s": 0.3}
    chat_server.script = [("sleep", 1.0)]
    assert len(backend(conn).generate(["p"], num_samples=1, seed=0)[0]) == 1
    assert len(chat_server.requests) == 2
    chat_server.script = [("sleep", 1.0)] * 2
    with pytest.raises(ServerError, match=r"no answer within 0.3 s"):
        backend({**conn, "max_retries": 1}).generate(["p"], num_samples=1, seed=0)


@pytest.mark.parametrize(
    "action, message",
    [
        (("raw", b"<html>gateway</html>"), "not JSON"),
        (("json", {"object": "chat.completion"}), "no 'choices' list"),
        (("json", {"choices": [{"index": 0, "message": {"role": "assistant", "content": None},
                                "finish_reason": "content_filter"}]}), "no text content.*content_filter"),
        (("json", {"choices": []}), "no 'choices' list"),
        (("json", ["not", "an", "object"]), "not a JSON object"),
    ],
)
def test_malformed_response_is_a_clear_error(chat_server, fast_connection, action, message):
    chat_server.script = [action]
    with pytest.raises(MalformedResponseError, match=message):
        backend(fast_connection).generate(["p"], num_samples=1, seed=0)


def test_malformed_response_leaves_no_partial_output(chat_server, fast_connection, tmp_path):
    out = tmp_path / "gen.jsonl"
    b = backend(fast_connection)
    # prompt a: 2 good samples; prompt b: a good first sample, then a malformed answer
    chat_server.script = [("sleep", 0), ("sleep", 0), ("sleep", 0), ("raw", b"{oops")]
    with pytest.raises(MalformedResponseError):
        generate_to_jsonl(b, [("a", "A"), ("b", "B")], out, num_samples=2, seed=0, system="api", quiet=True)
    rows = read_generations(out)
    assert [(r["prompt_id"], r["sample"]) for r in rows] == [("a", 0), ("a", 1)]  # nothing of b
    assert out.read_bytes().endswith(b"\n")


def test_auth_failure_names_the_variable(chat_server, fast_connection, monkeypatch):
    monkeypatch.delenv("DIVTOOLS_TEST_API_KEY", raising=False)
    chat_server.script = [("status", 401)]
    with pytest.raises(UserError, match="set the API key in the environment variable DIVTOOLS_TEST_API_KEY"):
        backend(fast_connection).generate(["p"], num_samples=1, seed=0)
    assert "Authorization" not in chat_server.requests[0]["headers"]


def test_api_key_is_sent_but_never_written(chat_server, fast_connection, tmp_path, monkeypatch):
    monkeypatch.setenv("DIVTOOLS_TEST_API_KEY", SECRET)
    params = OpenAICompatibleParams(**fast_connection)
    b = OpenAICompatibleBackend(params)
    out = tmp_path / "gen.jsonl"
    generate_to_jsonl(b, {"p1": "Prompt one", "p2": "Prompt two"}, out, num_samples=2, seed=3, system="api", quiet=True)
    assert chat_server.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert len(read_generations(out)) == 4
    # a failure's message does not carry it either
    chat_server.script = [("status", 403)]
    with pytest.raises(UserError) as info:
        b.generate(["p"], num_samples=1, seed=0)
    (tmp_path / "error.txt").write_text(str(info.value))
    (tmp_path / "params.json").write_text(params.model_dump_json())
    (tmp_path / "settings.json").write_text(json.dumps(b.settings()))
    (tmp_path / "client.txt").write_text(repr(vars(b.client)) + repr(vars(b)))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for path in files:
        assert SECRET not in path.read_text(), path
        assert "4f9c2e1b7a" not in path.read_text(), path


def test_api_key_env_must_be_a_name_and_the_error_hides_the_value(fast_connection):
    with pytest.raises(ValidationError) as info:
        OpenAICompatibleParams(**{**fast_connection, "api_key_env": SECRET})
    assert "NAME of an environment variable" in str(info.value)
    assert SECRET not in json.dumps([{k: v for k, v in e.items() if k != "input"} for e in info.value.errors()], default=str)


def test_base_url_from_the_environment(chat_server, fast_connection, monkeypatch):
    monkeypatch.setenv("MY_SERVER_URL", chat_server.url)
    conn = {k: v for k, v in fast_connection.items() if k != "base_url"}
    b = backend(conn, base_url_env="MY_SERVER_URL")
    assert b.generate(["p"], num_samples=1, seed=0)[0][0].startswith("story")
    assert b.settings()["base_url"] == chat_server.url


def test_concurrency_keeps_prompt_order(chat_server, fast_connection):
    b = backend(fast_connection, concurrency=4)
    assert b.prompts_per_call == 4
    prompts = [f"prompt number {i}" for i in range(8)]
    out = b.generate(prompts, num_samples=2, seed=5)
    sequential = backend(fast_connection).generate(prompts, num_samples=2, seed=5)
    assert out == sequential
    assert all(f"prompt number {i}" in out[i][0] for i in range(8))


def test_registered_and_built_through_the_registry(chat_server, fast_connection):
    from divtools.plugins import load_plugins

    registries = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}).registries
    info = registries["backend"].get("openai_compatible")
    params = info.params(kind="openai_compatible", **fast_connection)
    b = info.build(params)
    assert isinstance(b, OpenAICompatibleBackend)


def test_a_key_pasted_into_a_spec_is_not_echoed(tmp_path):
    from divtools.spec.loading import validate_spec

    (tmp_path / "prompts.jsonl").write_text('{"prompt_id": "p1", "prompt": "x"}\n')
    data = {
        "run": "evaluate",
        "prompts": {"path": "prompts.jsonl"},
        "systems": [{"name": "api", "backend": {"kind": "openai_compatible", "model": "m", "api_key_env": SECRET}}],
        "metrics": [{"kind": "distinct_n"}],
        "output": {"dir": "out"},
    }
    with pytest.raises(UserError) as info:
        validate_spec(data, file="spec.yaml", base_dir=tmp_path)
    assert "api_key_env" in str(info.value) and "NAME of an environment variable" in str(info.value)
    assert SECRET not in str(info.value)


def test_credentials_in_the_url_are_kept_out_of_records(chat_server, fast_connection):
    url = chat_server.url + "?api-version=2024&token=tok-SECRET"
    b = backend({**fast_connection, "base_url": url})
    assert b.generate(["p"], num_samples=1, seed=0)[0][0].startswith("story")
    assert chat_server.requests[0]["path"] == "/v1/chat/completions?api-version=2024&token=tok-SECRET"
    assert "SECRET" not in repr(b.settings())
    chat_server.script = [("status", 400)]
    with pytest.raises(ServerError) as info:
        b.generate(["p"], num_samples=1, seed=0)
    assert "SECRET" not in str(info.value) and "/v1/chat/completions" in str(info.value)
    with pytest.raises(ValidationError) as bad:
        OpenAICompatibleParams(**{**fast_connection, "base_url": "http://user:pw-SECRET@example.org/v1"})
    assert "user:password" in str(bad.value) and "pw-SECRET" not in str(bad.value).split("input_value")[0]



def test_iterative_mode_takes_one_sample_per_request(fast_connection):
    with pytest.raises(ValidationError, match="iterative mode asks for one sample at a time"):
        OpenAICompatibleParams(**fast_connection, mode="iterative", samples_per_request="all")


def test_retry_after_as_an_http_date():
    from divtools.generation.openai_client import _retry_after

    now = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    assert _retry_after("Tue, 14 Nov 2023 22:13:25 GMT", now=now) == pytest.approx(5.0)
    assert _retry_after("Tue, 14 Nov 2023 22:13:00 GMT", now=now) == 0.0  # in the past: retry now
    assert _retry_after("2.5") == 2.5
    assert _retry_after("soon") is None and _retry_after(None) is None
