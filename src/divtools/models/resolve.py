"""One answer to "what does ``from_pretrained`` load for this model reference?".

Every place divtools loads a model or tokenizer (training's ``model``, the ``transformers``
backend, the ``reward_model`` scorer, DivPO's ``model_probability`` criterion and the tokenizer of
cleaning's token budget) passes the spec's reference through :func:`resolve_model_ref` first:

- ``preset:<name>``: the preset's GGUF file (:mod:`divtools.models.presets`), materialised;
- a path to a ``.gguf`` file: that file, materialised (:mod:`divtools.models.gguf`) — the
  ``gguf_file=`` of transformers, without paying the dequantisation on every load;
- anything else (a local folder, a hub id): unchanged.

Materialised references come back as the cache folder, an ordinary float32 Hugging Face folder,
so the loaders themselves need no GGUF case.
"""

from __future__ import annotations

from pathlib import Path

from divtools.errors import UserError
from divtools.models.presets import is_preset, preset_gguf

__all__ = ["is_gguf_ref", "resolve_model_ref"]


def is_gguf_ref(ref: str) -> bool:
    return str(ref).lower().endswith(".gguf")


def resolve_model_ref(ref: str, *, field: str = "model") -> str:
    """A folder or hub id that ``from_pretrained`` loads for the spec's model reference ``ref``."""
    ref = str(ref)
    if is_preset(ref):
        from divtools.models.gguf import materialise_gguf

        return str(materialise_gguf(preset_gguf(ref, field=field), field=field))
    if is_gguf_ref(ref):
        from divtools.models.gguf import materialise_gguf

        path = Path(ref).expanduser()
        if not path.is_file():
            raise UserError(
                f"GGUF file not found: {ref} (give the path of a .gguf file; relative paths resolve "
                "against the spec file's folder)",
                field=field,
            )
        return str(materialise_gguf(path, field=field))
    return ref
