"""Reference log-probabilities computed once and shared by every preference stage with the same reference.

DPO-family objectives need, for each pair, the frozen reference's summed completion
log-probabilities ``log π_ref(y_w|x)`` and ``log π_ref(y_l|x)`` (Rafailov et al. 2023, eq. 7). The
paper's recipe trains DPO, DDPO-sem, DDPO-sty, DDPO-both and DivPO from one SFT checkpoint, so these
numbers are identical across stages. The first stage that needs them computes them in one batched
pass (TRL's ``_precompute_ref_logps``) and stores them; every later stage with the same key reads them
and runs no reference model at all.

Key (nothing is guessed: any change is a new key, so stale values are never read):

- the **store identity** (:func:`reference_identity`): the reference's content (a digest of every file
  of its folder(s): weights, config, tokenizer; for a ``from_config`` model its config and
  ``init_seed``), how it is evaluated (``adapter``: the frozen adapter copy or the disabled adapter of
  a LoRA policy; ``model``: a separate model), its dtype and the bf16/fp16 autocast flags, and the
  tokenisation settings applied after a pair's token ids exist (``max_length``, ``truncation_mode``);
- the **pair key**: SHA-256 of the pair's prompt, chosen and rejected token ids, which already carry
  the tokenizer and chat template.

Storage is the embedding cache's pack format (:class:`divtools.embed_cache.EmbeddingCache`, folder
``ref-logps/<identity hash>/`` of the divtools cache): two float32 values per pair, a digest per entry,
written atomically, any number of concurrent writers. A truncated or edited pack fails its digest;
those pairs are recomputed and one line says so.

The reference values are computed with the model in eval mode: the deterministic ``π_ref``. (Computed
on the fly during training, a frozen adapter copy runs in train mode, so LoRA dropout makes it noisy;
with dropout 0 the two paths agree to float precision, which the tests check.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from divtools.embed_cache import EmbeddingCache, identity_key

__all__ = ["STORE_FOLDER", "ReferenceStore", "describe", "folder_digest", "pair_key", "reference_identity", "store_for_stage"]

STORE_FOLDER = "ref-logps"
# Files of a stage folder that do not change the model's outputs: divtools' stage records, the model
# card, and the Trainer's pickled arguments (they hold the output folder, so every run differs).
_NOT_MODEL = {"log.jsonl", "divtools-stage.json", "reference-logps.json", "README.md", "training_args.bin"}
_DIGESTS: dict[tuple, str] = {}


def folder_digest(path: str | Path) -> str | None:
    """SHA-256 over the names and contents of a model folder's top-level files (or of one file);
    None when ``path`` is neither (a hub id that is not in the local cache)."""
    path = Path(path)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name not in _NOT_MODEL and not p.name.startswith("."))
    else:
        return None
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if stamp in _DIGESTS:  # one run's stages share their reference: hash its weights once
        return _DIGESTS[stamp]
    total = hashlib.sha256()
    for p in files:
        digest = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        total.update(f"{p.name}\0{digest.hexdigest()}\n".encode())
    _DIGESTS[stamp] = total.hexdigest()
    return _DIGESTS[stamp]


def _source_digest(path: str, revision: str | None) -> str | None:
    digest = folder_digest(path)
    if digest is not None:
        return digest
    try:  # a hub id: the snapshot already in the local cache (never a download)
        from huggingface_hub import snapshot_download

        return folder_digest(snapshot_download(repo_id=path, revision=revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "identity unknown": the store is not used
        return None


def reference_identity(init: Any, *, mode: str, args: Any) -> dict[str, Any] | None:
    """What determines the reference log-probs of a stage starting from ``init`` (an
    :class:`divtools.train.models.InitPoint`); None when the reference's content cannot be known."""
    base = init.base
    base_path = init.base_path  # a preset or GGUF file resolved to its materialised folder
    is_base = init.path == base_path
    sources: dict[str, Any] = {}
    if is_base and base.from_config:
        sources["from_config"] = {"config": _source_digest(str(Path(base_path) / "config.json"), None), "init_seed": base.init_seed}
    else:
        sources["init"] = _source_digest(init.path, base.revision if is_base else None)
        if init.adapter:
            sources["base"] = _source_digest(base_path, base.revision)
    if any(v is None or (isinstance(v, dict) and None in v.values()) for v in sources.values()):
        return None
    return {
        "kind": "reference-logps/1",
        "reference": sources,
        # "precomputed" and "model" both evaluate the init model as a separate network
        "mode": "adapter" if mode == "adapter" else "model",
        "dtype": base.dtype,
        "bf16": bool(getattr(args, "bf16", False)),
        "fp16": bool(getattr(args, "fp16", False)),
        "max_length": getattr(args, "max_length", None),
        "truncation_mode": getattr(args, "truncation_mode", None),
    }


def pair_key(prompt_ids: Sequence[int], chosen_ids: Sequence[int], rejected_ids: Sequence[int]) -> str:
    """SHA-256 of one pair's token ids (canonical JSON)."""
    blob = json.dumps([list(prompt_ids), list(chosen_ids), list(rejected_ids)], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class ReferenceStore:
    """The stored reference log-probs of one identity (see the module docstring)."""

    identity: dict[str, Any]
    cache_dir: str | Path | None = None
    #: what the last :meth:`lookup` / :meth:`put` did, for the stage's log line
    report: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._cache = EmbeddingCache(self.identity, self.cache_dir, folder=STORE_FOLDER)

    @property
    def key(self) -> str:
        return identity_key(self.identity)

    def lookup(self, keys: Sequence[str]) -> list[tuple[float, float] | None]:
        """``(chosen, rejected)`` for each pair key, or None where missing or damaged."""
        before = self._cache.corrupt
        found = self._cache.get_many(list(keys))
        out = [None if v is None else (float(v[0]), float(v[1])) for v in found]
        self.report = {
            "pairs": len(out),
            "found": sum(v is not None for v in out),
            "damaged": self._cache.corrupt - before,
        }
        return out

    def put(self, keys: Sequence[str], chosen: Sequence[float], rejected: Sequence[float]) -> None:
        if keys:
            self._cache.put_many(list(keys), np.stack([np.asarray(chosen), np.asarray(rejected)], axis=1))


def store_for_stage(
    enabled: bool, init: Any, *, mode: str, policy_is_peft: bool, args: Any, cache_dir: str | Path | None = None
) -> tuple[ReferenceStore | None, str]:
    """The store a preference stage uses, or None and the reason it computes its reference itself.

    Used only where the stored values are exactly the reference the stage would compute: the
    reference is the init model (separate copy for a full-weight policy; frozen adapter copy or
    disabled adapter for a LoRA policy), with no reference update during training (``sync_ref_model``)
    and no length-desensitised reference (``ld_alpha``, which divtools' loss does not apply).
    """
    if not enabled:
        return None, "share_reference_logps: false"
    if mode == "model" and policy_is_peft:
        return None, "reference 'model' with a LoRA policy (TRL's precompute would use the disabled adapter)"
    if getattr(args, "sync_ref_model", False):
        return None, "sync_ref_model updates the reference during training"
    if getattr(args, "ld_alpha", None) is not None:
        return None, "ld_alpha changes the reference log-probs"
    identity = reference_identity(init, mode=mode, args=args)
    if identity is None:
        return None, f"the content of '{init.path}' cannot be read to key the store"
    return ReferenceStore(identity, cache_dir), "shared store"


def describe(stage: str, report: dict[str, Any], fallback: str) -> str:
    """The stage's one line on where its reference log-probs came from."""
    if not report:
        return f"stage {stage}: reference log-probs computed every step; shared store off: {fallback}"
    parts = []
    for split, r in report.items():
        line = f"{split}: {r['found']}/{r['pairs']} pairs from the shared store, {r['computed']} computed"
        if r.get("damaged"):
            line += f" ({r['damaged']} damaged store entries ignored and recomputed)"
        parts.append(line)
    tail = "no reference model run" if all(r["computed"] == 0 for r in report.values()) else "stored for later stages"
    return f"stage {stage}: reference log-probs: " + "; ".join(parts) + f"; {tail}"
