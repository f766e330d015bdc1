"""Issue #13 item 10: both reward-model losses train on ``input_template``'s text, tokenised as
the ``reward_model`` scorer tokenises it, and the scorer reads the trained template itself."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

TEMPLATE = "Story prompt: {prompt}\nStory: {response}"
ARGS = {"per_device_train_batch_size": 4, "max_steps": 2, "logging_steps": 1, "max_length": 96, "learning_rate": 1e-3}


def _trainer(monkeypatch, tmp_path, tiny_lm_dir, pairs_file, train_spec, loss):
    """The stage's trainer, built but not trained."""
    import divtools.train.stages as stages

    seen = {}
    monkeypatch.setattr(stages, "_train_and_save", lambda trainer, *a, **k: seen.setdefault("trainer", trainer))
    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "rm", "kind": "reward_model", "loss": loss, "input_template": TEMPLATE, "args": ARGS}])
    stages.run_reward_model(spec, spec.stages[0], tmp_path / "rm", None, quiet=True)
    return seen["trainer"]


def _expected_ids(tokenizer, prompt, response):
    # independent of divtools: the template filled by str.format, the tokenizer's own encoding
    return tokenizer(TEMPLATE.format(prompt=prompt, response=response), truncation=True, max_length=96)["input_ids"]


def test_bradley_terry_trains_on_the_template_with_chosen_and_rejected(monkeypatch, tmp_path, tiny_lm_dir, pairs_file, train_spec):
    from transformers import AutoTokenizer

    trainer = _trainer(monkeypatch, tmp_path, tiny_lm_dir, pairs_file, train_spec, "bradley_terry")
    tok = AutoTokenizer.from_pretrained(tiny_lm_dir)
    rows = [json.loads(line) for line in pairs_file.read_text().splitlines()]
    ds = trainer.train_dataset
    assert len(ds) == len(rows)  # nothing dropped for length: inputs are truncated like the scorer's
    for row, item in zip(rows, ds):
        assert item["chosen_ids"] == _expected_ids(tok, row["prompt"], row["chosen"])
        assert item["rejected_ids"] == _expected_ids(tok, row["prompt"], row["rejected"])
    assert tok.decode(ds[0]["chosen_ids"], skip_special_tokens=True).startswith("Story prompt: ")


def test_l1_trains_on_the_same_encoding(monkeypatch, tmp_path, tiny_lm_dir, pairs_file, train_spec):
    from transformers import AutoTokenizer

    trainer = _trainer(monkeypatch, tmp_path, tiny_lm_dir, pairs_file, train_spec, "l1")
    tok = AutoTokenizer.from_pretrained(tiny_lm_dir)
    row = json.loads(pairs_file.read_text().splitlines()[0])
    ids = [item["input_ids"] for item in trainer.train_dataset]
    assert _expected_ids(tok, row["prompt"], row["chosen"]) in ids


def test_the_scorer_uses_the_trained_template_and_refuses_another(tmp_path):
    from divtools.components import build
    from divtools.errors import UserError
    from divtools.spec.loading import validate_spec  # noqa: F401 - loads the registries

    folder = tmp_path / "rm"
    folder.mkdir()
    (folder / "divtools-stage.json").write_text(json.dumps(
        {"complete": True, "stage": {"name": "rm", "kind": "reward_model", "input_template": TEMPLATE}}))
    from divtools.plugins import registries

    params_cls = registries()["scorer"].get("reward_model").params
    scorer = build("scorer", params_cls(model=str(folder)))
    assert scorer.texts(["p"], ["r"]) == ["Story prompt: p\nStory: r"]
    same = build("scorer", params_cls(model=str(folder), template=TEMPLATE))
    assert same.texts(["p"], ["r"]) == ["Story prompt: p\nStory: r"]
    other = build("scorer", params_cls(model=str(folder), template="<prompt>{prompt}</prompt><response>{response}</response>"))
    with pytest.raises(UserError, match="was trained on input_template"):
        other.texts(["p"], ["r"])
    (folder / "divtools-stage.json").unlink()  # any other model: the spec's template
    assert build("scorer", params_cls(model=str(folder))).texts(["p"], ["r"]) == ["<prompt>p</prompt><response>r</response>"]


@pytest.mark.slow
def test_a_trained_bradley_terry_model_scores_what_it_saw(tmp_path, tiny_lm_dir, pairs_file, train_spec):
    from transformers import AutoModelForSequenceClassification

    from divtools.components import build
    from divtools.plugins import registries
    from divtools.train.run import run

    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "rm", "kind": "reward_model", "loss": "bradley_terry", "input_template": TEMPLATE, "args": ARGS}])
    out = run(spec, quiet=True)
    row = json.loads(pairs_file.read_text().splitlines()[0])
    params_cls = registries()["scorer"].get("reward_model").params
    scorer = build("scorer", params_cls(model=str(out / "rm"), device="cpu", dtype="float32"))
    got = scorer.score([row["prompt"]], [row["chosen"]])[0]
    model = AutoModelForSequenceClassification.from_pretrained(out / "rm").eval()
    from transformers import AutoTokenizer

    ids = _expected_ids(AutoTokenizer.from_pretrained(out / "rm"), row["prompt"], row["chosen"])
    with torch.no_grad():
        want = model(torch.tensor([ids])).logits[0, 0].item()
    assert got == pytest.approx(want, abs=1e-5)
