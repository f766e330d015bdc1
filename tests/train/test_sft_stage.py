"""The sft stage's loss covers response tokens only (prompt tokens never carry a label)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")


@pytest.mark.parametrize("responses, chat", [("chosen", "never"), ("all", "auto")])
def test_sft_batches_label_only_responses(tmp_path, tiny_lm_dir, pairs_file, train_spec, responses, chat):
    from transformers import AutoTokenizer

    from divtools.train.stages import build_sft_trainer

    spec = train_spec(tmp_path, tiny_lm_dir, pairs_file, [
        {"name": "sft", "kind": "sft", "responses": responses, "args": {"per_device_train_batch_size": 4, "max_length": 128}}])
    spec.data.chat_template = chat
    trainer = build_sft_trainer(spec, spec.stages[0], tmp_path / "out" / "sft", None, quiet=True)
    n_pairs = 16
    assert len(trainer.train_dataset) == (n_pairs if responses == "chosen" else 2 * n_pairs)
    tok = AutoTokenizer.from_pretrained(tiny_lm_dir)
    batch = next(iter(trainer.get_train_dataloader()))
    labels, ids = batch["labels"], batch["input_ids"]
    for row in range(ids.shape[0]):
        labelled = labels[row] != -100
        first = int(labelled.nonzero()[0])
        assert first > 0 and not labelled[:first].any()  # the prompt is never a target
        text = tok.decode(ids[row][labelled])
        prompt = tok.decode(ids[row][:first])
        assert "Write a proverb" in prompt and "Write a proverb" not in text
        if chat == "auto":
            assert prompt.startswith("<|user|>") and prompt.endswith("<|assistant|>")
