"""The reward_model scorer gives what the sequence-classification model gives when called
directly on the paper's template, one text at a time."""

from __future__ import annotations

import numpy as np
import pytest

from divtools.builtins.scorers import REWARD_TEMPLATE, RewardModelParams
from divtools.errors import UserError
from divtools.scorers.reward_model import RewardModelScorer

PROMPTS = ["Write about a king.", "A river at night", "The dragon", "x", "Write about a king."]
RESPONSES = [
    "The wise king keeps the old road and the golden city.",
    "Quiet water.",
    "A strange bright dragon sings to the broken star and remembers the sea, the wind and the fire.",
    "",
    "Another, quite different answer about a foolish king.",
]


def direct_scores(model_dir, texts, max_length=None):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    out = []
    for text in texts:
        kw = {"truncation": True, "max_length": max_length} if max_length else {}
        enc = tok(text, return_tensors="pt", **kw)
        with torch.no_grad():
            out.append(float(model(**enc).logits[0, 0]))
    return np.array(out)


def test_paper_template_is_the_default():
    assert RewardModelParams(model="m").template == "<prompt>{prompt}</prompt><response>{response}</response>"
    assert REWARD_TEMPLATE.format(prompt="P", response="R") == "<prompt>P</prompt><response>R</response>"


def test_scores_equal_direct_model_calls(tiny_rm):
    scorer = RewardModelScorer(RewardModelParams(model=str(tiny_rm), batch_size=2))
    scores = scorer.score(PROMPTS, RESPONSES)
    texts = [f"<prompt>{p}</prompt><response>{r}</response>" for p, r in zip(PROMPTS, RESPONSES)]
    assert scorer.texts(PROMPTS, RESPONSES) == texts
    expected = direct_scores(tiny_rm, texts)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    assert scores.dtype == np.float64 and len(set(np.round(scores, 6))) == len(scores)
    # batch size does not change the scores
    np.testing.assert_allclose(RewardModelScorer(RewardModelParams(model=str(tiny_rm), batch_size=5)).score(PROMPTS, RESPONSES),
                               expected, rtol=1e-5, atol=1e-5)


def test_truncation_matches_direct_truncation(tiny_rm):
    scorer = RewardModelScorer(RewardModelParams(model=str(tiny_rm), max_length=12, batch_size=3))
    texts = scorer.texts(PROMPTS, RESPONSES)
    np.testing.assert_allclose(scorer.score(PROMPTS, RESPONSES), direct_scores(tiny_rm, texts, max_length=12), atol=1e-5)
    # and truncation changed something: long texts score differently than untruncated
    assert not np.allclose(scorer.score(PROMPTS, RESPONSES), direct_scores(tiny_rm, texts), atol=1e-5)


def test_custom_template_and_output_index(tiny_rm):
    scorer = RewardModelScorer(RewardModelParams(model=str(tiny_rm), template="Q: {prompt}\nA: {response}"))
    np.testing.assert_allclose(scorer.score(PROMPTS[:2], RESPONSES[:2]),
                               direct_scores(tiny_rm, [f"Q: {p}\nA: {r}" for p, r in zip(PROMPTS[:2], RESPONSES[:2])]), atol=1e-5)
    with pytest.raises(UserError, match="output_index 1 but the model has 1 output"):
        RewardModelScorer(RewardModelParams(model=str(tiny_rm), output_index=1)).score(["p"], ["r"])
    with pytest.raises(ValueError, match="must contain"):
        RewardModelParams(model="m", template="{prompt} only")


def test_empty_input_and_registry(tiny_rm):
    from divtools.plugins import load_plugins

    info = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}).registries["scorer"].get("reward_model")
    scorer = info.build(info.params(kind="reward_model", model=str(tiny_rm)))
    assert scorer.score([], []).shape == (0,)
    assert scorer.score(["p"], ["r"]).shape == (1,)


def test_missing_model_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot load"):
        RewardModelScorer(RewardModelParams(model=str(tmp_path / "nope"))).score(["p"], ["r"])


def test_chat_template_input(tiny_rm):
    from transformers import AutoTokenizer

    scorer = RewardModelScorer(RewardModelParams(model=str(tiny_rm), chat_template=True))
    tok = AutoTokenizer.from_pretrained(tiny_rm)
    if not tok.chat_template:
        pytest.skip("the tiny tokenizer has no chat template")
    texts = scorer.texts(PROMPTS[:2], RESPONSES[:2])
    assert texts[0] == f"<|user|>{PROMPTS[0]}<|end|><|assistant|>{RESPONSES[0]}<|end|>"
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_rm).eval()
    expected = []
    for text in texts:
        with torch.no_grad():
            expected.append(float(model(**tok(text, return_tensors="pt", add_special_tokens=False)).logits[0, 0]))
    np.testing.assert_allclose(scorer.score(PROMPTS[:2], RESPONSES[:2]), expected, atol=1e-5)


def test_peft_adapter_reward_model_as_the_training_stage_saves_it(tiny_lm, tmp_path):
    """A LoRA (task SEQ_CLS) over a causal LM base with a one-output head, saved adapter-only:
    the scorer loads base + adapter (+ the saved head) and matches PeftModel called directly."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    base = AutoModelForSequenceClassification.from_pretrained(tiny_lm, num_labels=1)
    model = get_peft_model(base, LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                            init_lora_weights=False))
    adapter = tmp_path / "rm_adapter"
    model.save_pretrained(adapter)
    assert (adapter / "adapter_config.json").exists() and not (adapter / "config.json").exists()

    scores = RewardModelScorer(RewardModelParams(model=str(adapter), batch_size=2)).score(PROMPTS, RESPONSES)
    again = RewardModelScorer(RewardModelParams(model=str(tiny_lm), adapter=str(adapter))).score(PROMPTS, RESPONSES)
    np.testing.assert_allclose(scores, again, atol=1e-5)  # the head comes from the adapter, not a random init

    tok = AutoTokenizer.from_pretrained(tiny_lm)
    torch.manual_seed(123)  # a different random head in the base: the adapter's saved head must win
    direct = PeftModel.from_pretrained(AutoModelForSequenceClassification.from_pretrained(tiny_lm, num_labels=1), adapter).eval()
    expected = []
    for p, r in zip(PROMPTS, RESPONSES):
        with torch.no_grad():
            enc = tok(f"<prompt>{p}</prompt><response>{r}</response>", return_tensors="pt")
            expected.append(float(direct(**enc).logits[0, 0]))
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
