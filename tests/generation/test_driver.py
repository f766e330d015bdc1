"""generate_to_jsonl: rows, incremental appends, and resuming after a kill without regenerating
or duplicating finished prompts."""

from __future__ import annotations

import json
from typing import Any, Sequence

import pytest

from divtools.api import Backend
from divtools.errors import DivtoolsError, UserError
from divtools.generation.driver import generate_to_jsonl, read_generations

PROMPTS = [(f"p{i}", f"Prompt number {i}: write a story.") for i in range(7)]


class CountingBackend(Backend):
    """Deterministic texts from (prompt, seed, k); records every prompt it was asked for and can
    raise on a chosen call to simulate a kill."""

    def __init__(self, prompts_per_call: int = 2, fail_on_call: int | None = None, temperature: float = 1.0):
        self.prompts_per_call = prompts_per_call
        self.fail_on_call = fail_on_call
        self.temperature = temperature
        self.calls: list[list[str]] = []

    def settings(self) -> dict[str, Any]:
        return {"backend": "counting", "temperature": self.temperature}

    def generate(self, prompts: Sequence[str], *, num_samples: int, seed: int) -> list[list[str]]:
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise KeyboardInterrupt("simulated kill")
        self.calls.append(list(prompts))
        return [[f"{p} | seed {seed} | sample {k}" for k in range(num_samples)] for p in prompts]


def asked(backend: CountingBackend) -> list[str]:
    return [p for call in backend.calls for p in call]


def run(backend, path, prompts=PROMPTS, k=3, system="sys", seed=11):
    return generate_to_jsonl(backend, prompts, path, num_samples=k, seed=seed, system=system, quiet=True)


@pytest.fixture
def reference(tmp_path):
    """The file an uninterrupted run writes."""
    path = tmp_path / "reference.jsonl"
    run(CountingBackend(), path)
    return path.read_bytes()


def test_rows_hold_prompt_response_system_sample_and_settings(tmp_path):
    path = run(CountingBackend(), tmp_path / "g.jsonl")
    rows = read_generations(path)
    assert len(rows) == 7 * 3
    first = rows[0]
    assert set(first) == {"id", "prompt_id", "prompt", "response", "system", "sample", "settings"}
    assert first["prompt_id"] == "p0" and first["prompt"] == PROMPTS[0][1] and first["system"] == "sys"
    assert first["settings"] == {"backend": "counting", "temperature": 1.0, "num_samples": 3, "seed": 11}
    assert [r["sample"] for r in rows[:3]] == [0, 1, 2]
    assert len({r["id"] for r in rows}) == 21
    # prompts of one chunk share the chunk's seed; chunks differ
    seeds = [r["response"].split("|")[1] for r in rows]
    assert seeds[0] == seeds[3] != seeds[6]


def test_exception_mid_run_then_resume_finishes_without_regenerating(tmp_path, reference):
    path = tmp_path / "g.jsonl"
    killed = CountingBackend(fail_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        run(killed, path)
    done = {r["prompt_id"] for r in read_generations(path)}
    assert done == {"p0", "p1", "p2", "p3"}  # two chunks of two prompts were saved before the kill
    resumed = CountingBackend()
    run(resumed, path)
    assert asked(resumed) == [t for pid, t in PROMPTS if pid not in done]
    assert path.read_bytes() == reference  # same texts as an uninterrupted run, no duplicates
    again = CountingBackend()
    run(again, path)
    assert again.calls == [] and path.read_bytes() == reference


def test_truncated_last_line_is_discarded_and_its_prompt_regenerated(tmp_path, reference):
    path = tmp_path / "g.jsonl"
    path.write_bytes(reference[: len(reference) - 25])  # the kill cut the last row short
    resumed = CountingBackend()
    run(resumed, path)
    assert asked(resumed) == [PROMPTS[-1][1]]
    assert path.read_bytes() == reference


def test_prompt_with_some_samples_is_regenerated_whole(tmp_path, reference):
    lines = reference.splitlines(keepends=True)
    path = tmp_path / "g.jsonl"
    # p6's first row complete, the second cut at a line end boundary, third missing; and p3 missing
    kept = [ln for ln in lines if json.loads(ln)["prompt_id"] != "p3"][:-2]
    path.write_bytes(b"".join(kept))
    resumed = CountingBackend()
    run(resumed, path)
    assert sorted(asked(resumed)) == sorted([PROMPTS[3][1], PROMPTS[6][1]])
    rows = read_generations(path)
    assert len(rows) == 21
    assert sorted((r["prompt_id"], r["sample"]) for r in rows) == sorted((pid, k) for pid, _ in PROMPTS for k in range(3))
    assert sorted(path.read_bytes().splitlines()) == sorted(reference.splitlines())  # same texts


def test_other_systems_rows_are_kept_and_resume_per_system(tmp_path):
    path = tmp_path / "g.jsonl"
    run(CountingBackend(), path, system="a")
    b = CountingBackend(fail_on_call=1)
    with pytest.raises(KeyboardInterrupt):
        run(b, path, system="b")
    run(CountingBackend(), path, system="b")
    rows = read_generations(path)
    assert sum(r["system"] == "a" for r in rows) == 21 and sum(r["system"] == "b" for r in rows) == 21
    assert len({r["id"] for r in rows}) == 42


def test_changed_settings_refuse_to_mix(tmp_path):
    path = tmp_path / "g.jsonl"
    run(CountingBackend(), path, prompts=PROMPTS[:2])
    with pytest.raises(UserError, match=r"other settings \(temperature: 1.0 -> 0.7\)"):
        run(CountingBackend(temperature=0.7), path, prompts=PROMPTS[:2])
    with pytest.raises(UserError, match=r"num_samples: 3 -> 4"):
        run(CountingBackend(), path, prompts=PROMPTS[:2], k=4)
    with pytest.raises(UserError, match=r"seed: 11 -> 12"):
        run(CountingBackend(), path, prompts=PROMPTS[:2], seed=12)
    with pytest.raises(UserError, match="different prompt text"):
        run(CountingBackend(), path, prompts=[("p0", "another text"), PROMPTS[1]])
    with pytest.raises(UserError, match="not in this run's prompt list"):
        run(CountingBackend(), path, prompts=PROMPTS[1:2])


def test_bad_input_and_bad_backend_answers(tmp_path):
    with pytest.raises(UserError, match="appears twice"):
        run(CountingBackend(), tmp_path / "x.jsonl", prompts=[("a", "x"), ("a", "y")])

    class Short(CountingBackend):
        def generate(self, prompts, *, num_samples, seed):
            return [["only one"] for _ in prompts]

    path = tmp_path / "short.jsonl"
    with pytest.raises(DivtoolsError, match="returned 1 samples for prompt 0, expected 3"):
        run(Short(), path)
    assert read_generations(path) == []

    (tmp_path / "junk.jsonl").write_text("not json\n{}\n")
    with pytest.raises(UserError, match="line 1 is not JSON"):
        run(CountingBackend(), tmp_path / "junk.jsonl")


def test_prompt_forms_accepted(tmp_path):
    from divtools.api import Group

    forms = [
        dict(PROMPTS[:2]),
        [{"prompt_id": pid, "prompt": t} for pid, t in PROMPTS[:2]],
        [Group(prompt_id=pid, prompt=t, responses=[]) for pid, t in PROMPTS[:2]],
    ]
    outputs = []
    for i, form in enumerate(forms):
        path = run(CountingBackend(), tmp_path / f"{i}.jsonl", prompts=form)
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
