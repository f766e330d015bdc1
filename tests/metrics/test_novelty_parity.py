"""distinct_k and utility_k equal NoveltyBench's own partition.py / score.py on real text (KJV
Proverbs verses), with the unigram rule; and the classifier rule on a tiny pair classifier."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from tests.metrics.conftest import build_metric, kjv_texts
from tests.metrics.novelty_bench_ref import partition as ref
from tests.metrics.novelty_bench_ref import score as ref_score

#: word-count thresholds standing in for NoveltyBench's reward thresholds (same bisect rule)
LENGTH_THRESHOLDS = [12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0, 28.0]


def _groups(size: int = 10, count: int = 20) -> list[list[str]]:
    verses = kjv_texts()
    return [verses[i * size:(i + 1) * size] for i in range(count)]


def _ref_partition(texts: list[str]) -> list[int]:
    return asyncio.run(ref.partition_responses("", texts, ref.equivalence_check_unigram))


def test_distinct_k_equals_novelty_bench_partition_on_kjv():
    metric = build_metric({"kind": "distinct_k", "equivalence": {"kind": "unigram"}})
    groups = _groups()
    ours = metric.groups_with_prompts(groups, [""] * len(groups))
    counts = []
    for texts, result in zip(groups, ours):
        labels = metric.equivalence.partition("", texts)
        theirs = _ref_partition(texts)
        assert labels == theirs
        # their score.py counts classes as len(partition_scores) == max(partition) + 1
        assert result.diversity == max(theirs) + 1
        counts.append(result.diversity)
    # the fixture exercises merging: some groups have equivalent verses, none is all one class
    assert min(counts) < 10 and max(counts) > 1 and len(set(counts)) > 2


@pytest.mark.parametrize("patience", [0.8, 0.5, 1.0])
def test_utility_k_equals_novelty_bench_score_on_kjv(monkeypatch, patience):
    monkeypatch.setattr(ref_score, "reward_thresholds", LENGTH_THRESHOLDS)
    metric = build_metric({
        "kind": "utility_k", "equivalence": {"kind": "unigram"}, "quality": {"kind": "length"},
        "quality_thresholds": LENGTH_THRESHOLDS, "patience": patience, "patience_sweep": [0.8, 0.95],
    })
    groups = _groups()
    ours = metric.groups_with_prompts(groups, ["p"] * len(groups))
    values = []
    for texts, result in zip(groups, ours):
        theirs = _ref_partition(texts)
        raw = [float(len(t.split())) for t in texts]  # the length scorer, in words
        gen_scores, _ = ref_score.generation_and_partition_scores(raw, theirs)
        assert result.diversity == pytest.approx(ref_score.utility(texts, gen_scores, patience), abs=1e-9)
        for p in (0.8, 0.95):
            assert result.extras[f"patience={p:g}"] == pytest.approx(ref_score.utility(texts, gen_scores, p), abs=1e-9)
        values.append(result.diversity)
    assert len(set(np.round(values, 6))) > 3  # the quality levels vary across the fixture


def test_unigram_rouge1_equals_rouge_score_on_kjv():
    from rouge_score import rouge_scorer

    from divtools.metrics.equivalence import rouge1_f
    from divtools.metrics.tokens import rouge_tokens

    scorer = rouge_scorer.RougeScorer(["rouge1"])
    verses = kjv_texts()[:40]
    for i in range(len(verses)):
        for j in range(i + 1, len(verses)):
            expected = scorer.score(verses[i], verses[j])["rouge1"].fmeasure
            assert rouge1_f(rouge_tokens(verses[i]), rouge_tokens(verses[j])) == pytest.approx(expected, abs=1e-12)


def test_short_text_rule_equals_novelty_bench():
    from divtools.metrics.equivalence import short_text_rule

    verses = kjv_texts()[:30]
    fragments = [" ".join(v.split()[:n]) for v in verses for n in (1, 2, 3, 5, 6)]
    fragments += ["the", "The LORD", "  ", "a wise son", "A WISE son maketh"]
    decided = 0
    for a in fragments[:60]:
        for b in fragments[:60]:
            assert short_text_rule(a, b) == ref.maybe_test_equality(a, b)
            decided += short_text_rule(a, b) is not None
    assert decided > 100


def _tiny_pair_classifier(tmp_path):
    """A randomly initialised 2-layer BERT pair classifier and a word-level tokenizer built from
    the fixture's own words (what the hub's DeBERTa would be, in miniature)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    words = sorted({w for t in kjv_texts()[:60] for w in t.lower().replace(":", " ").replace(",", " ")
                    .replace(".", " ").replace(";", " ").split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, num_labels=2,
                                     max_position_embeddings=300)
    model = transformers.BertForSequenceClassification(config).eval()
    folder = tmp_path / "pair-classifier"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, tokenizer, model


@pytest.mark.slow
def test_classifier_equivalence_equals_novelty_bench_classifier(tmp_path):
    from tests.metrics.novelty_bench_ref import classifier as ref_cls

    folder, tokenizer, model = _tiny_pair_classifier(tmp_path)
    ref_cls.LOADED.update(tokenizer=tokenizer, model=model)
    verses = kjv_texts()[:60]
    # long (more than 128 tokens) texts exercise the truncation; short ones the short-text rule
    texts = [verses[0], " ".join(verses[1:12]), "A wise son", "a wise son maketh", verses[3], verses[4],
             " ".join(verses[20:32]), verses[5]]
    metric = build_metric({"kind": "distinct_k", "equivalence": {
        "kind": "classifier", "model": str(folder), "device": "cpu", "batch_size": 3}})
    eq = metric.equivalence
    pairs = [(a, b) for a in texts for b in texts if a != b]
    ours = eq.probabilities(pairs)
    theirs = [asyncio.run(ref_cls.classifier_score("", a, b)) for a, b in pairs]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)  # padding in a batch: float noise only
    # the threshold decides both sides the same way (NoveltyBench's 0.102 sits far from these)
    threshold = float(np.median(theirs))
    eq.params = eq.params.model_copy(update={"threshold": threshold})
    margin = np.abs(np.asarray(theirs) - threshold) > 1e-4
    for (a, b), ok in zip(pairs, margin):
        if not ok:
            continue
        ref_answer = ref.maybe_test_equality(a, b)
        if ref_answer is None:
            ref_answer = asyncio.run(ref_cls.classifier_score("", a, b)) > threshold
        assert bool(eq.matches("", a, [b])[0]) == ref_answer


def test_classifier_without_model_is_a_clear_error(tmp_path):
    from divtools.errors import UserError

    metric = build_metric({"kind": "distinct_k", "equivalence": {"kind": "classifier", "model": str(tmp_path / "none")}})
    with pytest.raises(UserError, match="cannot load the equivalence classifier"):
        metric.group([" ".join(["word"] * 8) + " a", " ".join(["other"] * 8) + " b"])
