"""The ``reward_model`` scorer: quality = a sequence-classification model's output on the
paper's input format (docs/method.md §6, "reddit-reward")::

    <prompt>{prompt}</prompt><response>{response}</response>

Any ``AutoModelForSequenceClassification`` checkpoint works (a regression head with one output,
or several outputs and ``output_index``), including a folder saved by divtools' ``reward_model``
training stage, either a full model or a PEFT adapter over a base model. Texts are tokenised as
the template gives them (the tokenizer adds its own special tokens, e.g. BOS), truncated to
``max_length`` tokens, and scored in batches sorted by length (results come back in input order).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from divtools.api import Scorer

__all__ = ["RewardModelScorer", "trained_template"]


def trained_template(model: str) -> str | None:
    """``input_template`` of the divtools ``reward_model`` stage that saved ``model`` (a local
    folder), or None for any other model."""
    import json
    from pathlib import Path

    from divtools.train.run import STAGE_FILE

    marker = Path(model) / STAGE_FILE
    try:
        stage = json.loads(marker.read_text(encoding="utf-8")).get("stage") or {}
    except (OSError, ValueError):
        return None
    template = stage.get("input_template") if stage.get("kind") == "reward_model" else None
    return template if isinstance(template, str) else None


class RewardModelScorer(Scorer):
    """Progress is shown by the caller (the evaluate run scores in chunks under its own bar)."""

    def __init__(self, params: Any) -> None:
        self.params = params
        self._model: Any = None
        self._tokenizer: Any = None
        self._device: str | None = None

    def identity(self) -> dict[str, Any]:
        p = self.params
        return {"model": p.model, "revision": p.revision, "adapter": p.adapter, "template": p.template,
                "chat_template": p.chat_template, "max_length": p.max_length, "output_index": p.output_index}

    def _load(self) -> None:
        if self._model is not None:
            return
        from divtools.generation.hf_models import adapter_base, load_model_and_tokenizer, resolve_device, resolve_dtype

        p = self.params
        self._device = resolve_device(p.device)
        # an adapter sits on a bare base: its head must have the size the adapter was trained with
        kwargs = {"num_labels": p.num_labels} if (p.adapter or adapter_base(p.model)) else {}
        self._model, self._tokenizer = load_model_and_tokenizer(
            "AutoModelForSequenceClassification",
            p.model,
            revision=p.revision,
            adapter=p.adapter,
            device=self._device,
            dtype=resolve_dtype(p.dtype, self._device),
            model_kwargs=kwargs,
        )
        if self._model.config.pad_token_id is None:
            # the classifier reads the last non-pad token; it must know which id pads
            self._model.config.pad_token_id = self._tokenizer.pad_token_id
        self._tokenizer.truncation_side = p.truncation_side
        n_out = self._model.config.num_labels
        if p.output_index >= n_out:
            from divtools.errors import UserError

            raise UserError(f"output_index {p.output_index} but the model has {n_out} output(s)", field="output_index")

    def texts(self, prompts: Sequence[str], responses: Sequence[str]) -> list[str]:
        """The model inputs: the template filled with each (prompt, response), or the
        chat-templated conversation when ``chat_template`` is set."""
        if self.params.chat_template:
            self._load()
            if not getattr(self._tokenizer, "chat_template", None):
                from divtools.errors import UserError

                raise UserError(f"the tokenizer of '{self.params.model}' has no chat template", field="chat_template")
            return [
                self._tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False
                )
                for p, r in zip(prompts, responses)
            ]
        from divtools.generation.openai_compatible import fill_template

        template = self.template()
        return [fill_template(template, prompt=p, response=r) for p, r in zip(prompts, responses)]

    def template(self) -> str:
        """The input format: the one a divtools ``reward_model`` stage trained this model on (its
        ``divtools-stage.json``), so training and scoring always see the same text; a spec's
        ``template`` that differs from it is refused. Other models: the spec's (or the paper's)."""
        p = self.params
        trained = trained_template(p.model)
        if trained is None or trained == p.template:
            return p.template
        if "template" in p.model_fields_set:
            from divtools.errors import UserError

            raise UserError(
                f"the reward model in {p.model} was trained on input_template {trained!r}, not {p.template!r}; "
                "remove template (the trained one is used) or set it to the trained one",
                field="template",
            )
        return trained

    def score(
        self,
        prompts: Sequence[str],
        responses: Sequence[str],
        rows: Sequence[Mapping[str, Any]] | None = None,
    ) -> np.ndarray:
        import torch
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        if not responses:
            return np.zeros(0, dtype=np.float64)
        self._load()
        p = self.params
        texts = self.texts(prompts, responses)
        tok = self._tokenizer
        trunc: dict[str, Any] = {"truncation": True, "max_length": p.max_length} if p.max_length else {}
        # a chat template already holds the special tokens the model was trained with
        trunc["add_special_tokens"] = not p.chat_template
        lengths = [len(ids) for ids in tok(texts, **trunc)["input_ids"]]
        order = np.argsort(lengths, kind="stable")[::-1]  # long first: memory trouble shows early
        out = np.empty(len(texts), dtype=np.float64)
        for start in range(0, len(texts), p.batch_size):
            idx = order[start : start + p.batch_size]
            enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, **trunc).to(self._device)
            with torch.inference_mode():
                logits = self._model(**enc).logits
            out[idx] = logits[:, p.output_index].float().cpu().numpy()
        return out
