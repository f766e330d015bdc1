# Excerpt of novelty-bench/novelty-bench src/partition.py (commit 5b22b53), MIT licence,
# Copyright (c) 2025 Yiming Zhang (see LICENSE in this folder): classifier_score and
# equivalence_check_classifier verbatim. load_deberta_tokenizer_and_model is replaced by a
# stand-in the test sets (the original downloads yimingzhang/deberta-v3-large-generation-similarity).
import torch

from tests.metrics.novelty_bench_ref.partition import maybe_test_equality

LOADED = {}


def load_deberta_tokenizer_and_model():
    return LOADED["tokenizer"], LOADED["model"]


@torch.inference_mode()
async def classifier_score(prompt: str, s1: str, s2: str):
    tokenizer, model = load_deberta_tokenizer_and_model()
    input_ids = [tokenizer.cls_token_id]
    for s in [s1, s2]:
        input_ids.extend(
            tokenizer.encode(
                s,
                truncation=True,
                max_length=128,
                add_special_tokens=False,
            )
        )
        input_ids.append(tokenizer.sep_token_id)
        prompt_len = input_ids.index(tokenizer.sep_token_id) + 1
    token_type_ids = [0] * prompt_len + [1] * (len(input_ids) - prompt_len)

    DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
    iids = torch.tensor(input_ids, device=DEVICE, dtype=torch.int64)
    tids = torch.tensor(token_type_ids, device=DEVICE, dtype=torch.int64)

    outputs = model(input_ids=iids.unsqueeze(0), token_type_ids=tids.unsqueeze(0))
    score = outputs["logits"].softmax(-1)[0, 1]
    return score.cpu().item()


async def equivalence_check_classifier(
    prompt: str,
    response_0: str,
    response_1: str,
) -> bool:
    equality = maybe_test_equality(response_0, response_1)
    if equality is not None:
        return equality
    score = await classifier_score(prompt, response_0, response_1)
    return score > 0.102
