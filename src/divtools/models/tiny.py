"""Tiny, randomly initialised Hugging Face models built offline (tests, examples, benchmarks).

A byte-level BPE tokenizer is trained in memory on the given texts with ``tokenizers``, wrapped
in :class:`transformers.PreTrainedTokenizerFast` (padding side, pad/eos tokens and a small chat
template passed to the constructor so that ``save_pretrained`` keeps them), and paired with a
Llama configuration (default: hidden size 64, 2 layers, tied embeddings, about 0.1M parameters).
Both are saved to one directory that ``AutoTokenizer`` / ``AutoModelFor*`` ``from_pretrained``
load without a hub.

The models know nothing: they exist so that trainers, generation and scorers can be exercised
end to end in seconds on a CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

__all__ = [
    "CHAT_TEMPLATE",
    "SPECIAL_TOKENS",
    "build_tiny_causal_lm",
    "build_tiny_sequence_classifier",
    "build_tiny_tokenizer",
    "default_texts",
]

#: special tokens of every tiny tokenizer; ``<|end|>`` ends a chat turn and is the eos token,
#: so generation from a chat-templated prompt stops at the end of the assistant's turn
SPECIAL_TOKENS = ("<|pad|>", "<|bos|>", "<|end|>", "<|unk|>", "<|system|>", "<|user|>", "<|assistant|>")

#: a minimal chat template: ``<|role|>content<|end|>`` per message; the generation prompt opens
#: an assistant turn. The prompt part is a prefix of prompt+response, as TRL requires.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ message['content'] }}<|end|>"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_tokenizer(
    texts: Iterable[str],
    *,
    vocab_size: int = 512,
    padding_side: str = "right",
    chat_template: str | None = CHAT_TEMPLATE,
    model_max_length: int = 2048,
):
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts`` (offline, in memory).

    Byte-level BPE can encode any string (no unknown tokens), and its decoder restores spaces.
    ``vocab_size`` counts the 256 byte symbols and the special tokens, so it must exceed 263.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 256 + len(SPECIAL_TOKENS) + 1:
        raise ValueError(f"vocab_size must be at least {256 + len(SPECIAL_TOKENS) + 1}, got {vocab_size}")
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError("build_tiny_tokenizer needs at least one non-empty text")
    bpe = Tokenizer(models.BPE(unk_token="<|unk|>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<|bos|>",
        eos_token="<|end|>",
        pad_token="<|pad|>",
        unk_token="<|unk|>",
        padding_side=padding_side,
        chat_template=chat_template,
        model_max_length=model_max_length,
    )


def _llama_config(tokenizer, *, hidden_size: int, num_layers: int, num_heads: int | None,
                  intermediate_size: int | None, max_position_embeddings: int, **extra):
    from transformers import LlamaConfig

    heads = num_heads or max(1, hidden_size // 32)
    if hidden_size % heads:
        raise ValueError(f"hidden_size {hidden_size} is not divisible by num_heads {heads}")
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or 4 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **extra,
    )


def build_tiny_causal_lm(
    texts: Iterable[str],
    out_dir: str | Path,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int | None = None,
    intermediate_size: int | None = None,
    vocab_size: int = 512,
    max_position_embeddings: int = 2048,
    padding_side: str = "right",
    seed: int = 0,
    weights: bool = True,
) -> Path:
    """Save a randomly initialised Llama-architecture causal LM and its tokenizer to ``out_dir``.

    ``weights=False`` saves only ``config.json``, the generation config and the tokenizer: a
    model to train from scratch with a train spec's ``model: {from_config: true}``.

    Same texts, sizes and seed give the same tokenizer and the same weights. Returns ``out_dir``,
    loadable with ``AutoModelForCausalLM.from_pretrained`` and ``AutoTokenizer.from_pretrained``.
    About 0.1M parameters at the defaults; ``hidden_size=256, num_layers=4`` gives about 4.3M.
    """
    import torch
    from transformers import LlamaForCausalLM

    out = Path(out_dir)
    tokenizer = build_tiny_tokenizer(texts, vocab_size=vocab_size, padding_side=padding_side)
    config = _llama_config(
        tokenizer,
        hidden_size=hidden_size,
        num_layers=num_layers,
        num_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    out.mkdir(parents=True, exist_ok=True)
    if weights:
        model.save_pretrained(out)
    else:
        config.save_pretrained(out)
        model.generation_config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def build_tiny_sequence_classifier(
    texts: Iterable[str],
    out_dir: str | Path,
    *,
    num_labels: int = 1,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int | None = None,
    intermediate_size: int | None = None,
    vocab_size: int = 512,
    max_position_embeddings: int = 2048,
    seed: int = 0,
    tokenizer_dir: str | Path | None = None,
) -> Path:
    """Save a tiny ``LlamaForSequenceClassification`` (a reward model when ``num_labels=1``).

    With ``tokenizer_dir`` the tokenizer saved there (e.g. by :func:`build_tiny_causal_lm`) is
    reused, so policy and reward model share a vocabulary; otherwise one is trained on ``texts``.
    The classifier pools the last non-pad token, so ``pad_token_id`` is set in its config.
    """
    import torch
    from transformers import AutoTokenizer, LlamaForSequenceClassification

    out = Path(out_dir)
    if tokenizer_dir is not None:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    else:
        tokenizer = build_tiny_tokenizer(texts, vocab_size=vocab_size)
    config = _llama_config(
        tokenizer,
        hidden_size=hidden_size,
        num_layers=num_layers,
        num_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        num_labels=num_labels,
    )
    torch.manual_seed(seed)
    model = LlamaForSequenceClassification(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def default_texts(limit: int | None = None) -> Sequence[str]:
    """A few hundred short English sentences to train a tiny tokenizer on when none are given."""
    words = (
        "the a wise fool son father mother heart word way life death light dark river stone "
        "king city house road night day story dragon ship star sea wind fire tree garden door "
        "walks sees finds keeps loses tells hears builds breaks opens remembers forgets sings "
        "old new quiet bright small great strange gentle bitter golden silver broken hidden"
    ).split()
    out = []
    for i in range(400):
        n = 6 + i % 9
        out.append(" ".join(words[(i * 7 + k * 13 + k * k) % len(words)] for k in range(n)).capitalize() + ".")
    return out[:limit] if limit else out
