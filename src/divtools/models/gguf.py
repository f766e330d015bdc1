"""GGUF files as ordinary Hugging Face folders, materialised once into the divtools cache.

transformers reads GGUF (``from_pretrained(folder, gguf_file=NAME)``, with the ``gguf`` package)
and dequantises it to float32, but the model it returns refuses ``save_pretrained`` ("quantized
with gguf and is not serializable"), and every load pays the dequantisation again (≈20 s for
SmolLM2-135M on 2 CPU cores). So divtools converts a GGUF once:

1. read the config, tokenizer (chat template included) and dequantised weights with transformers;
2. rebuild the model from the config *without* its ``quantization_config`` and load the
   dequantised state dict into it (every key must match), so that nothing in the saved folder
   says "gguf" and trained checkpoints are plain Hugging Face folders;
3. save model, generation config and tokenizer into a temporary folder next to the target, write
   ``divtools-model.json`` last, and rename the folder into place (atomic on POSIX).

Layout: ``<cache>/models/gguf-<key>/`` with ``key`` = SHA-256 of (the GGUF file's SHA-256, the
conversion format version), so the same bytes under any name or path share one folder and a
changed file gets a new one. A file lock (``<key>.lock``) makes a second writer wait and then
reuse the first one's folder instead of converting twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from divtools.errors import UserError

__all__ = ["FORMAT", "MARKER", "file_sha256", "gguf_cache_dir", "materialise_gguf"]

#: bump when the conversion changes what the folder holds (old folders are then not reused)
FORMAT = 1
#: written last into a finished folder: what it was converted from
MARKER = "divtools-model.json"

_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes (memoised per path, size and mtime for the process)."""
    st = path.stat()
    memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo not in _SHA_MEMO:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
        _SHA_MEMO[memo] = h.hexdigest()
    return _SHA_MEMO[memo]


def gguf_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    from divtools.embed_cache import default_cache_dir

    return (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / "models"


def _key(sha: str) -> str:
    return hashlib.sha256(json.dumps({"gguf_sha256": sha, "format": FORMAT}, sort_keys=True).encode()).hexdigest()[:32]


def _finished(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def materialise_gguf(
    gguf_path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    field: str = "model",
    convert: Any = None,
) -> Path:
    """The float32 Hugging Face folder of a GGUF file, converting it on first use.

    ``convert(gguf_path, out_dir)`` writes the folder (default :func:`_convert`); tests pass
    their own to exercise the cache without a real model.
    """
    path = Path(gguf_path)
    if not path.is_file():
        raise UserError(f"GGUF file not found: {path}", field=field)
    root = gguf_cache_dir(cache_dir)
    sha = file_sha256(path)
    target = root / f"gguf-{_key(sha)}"
    if _finished(target):
        return target
    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"gguf-{_key(sha)}.lock")):
        if _finished(target):  # another writer finished while this one waited
            return target
        if target.exists():  # no marker: not ours to trust (a hand copy, an old layout)
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=root))
        # once per file and machine, and long enough (≈30 s) to deserve a word
        print(f"divtools: converting {path.name} to a float32 Hugging Face folder in {target} (once)",
              file=sys.stderr, flush=True)
        try:
            info = (convert or _convert)(path, tmp, field=field)
            (tmp / MARKER).write_text(
                json.dumps({"source": path.name, "gguf_sha256": sha, "format": FORMAT, **(info or {})},
                           indent=2, sort_keys=True) + "\n",
                encoding="utf-8",
            )
            _publishable(tmp)
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def _publishable(folder: Path) -> None:
    """The usual permissions (0777/0666 minus umask): ``mkdtemp`` and some writers make 0700/0600."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for child in folder.iterdir():
        os.chmod(child, 0o666 & ~umask)


def _convert(path: Path, out: Path, *, field: str) -> dict[str, Any]:
    """Dequantise ``path`` with transformers and save a plain float32 folder into ``out``."""
    try:
        import gguf  # noqa: F401  (transformers needs it; say so in divtools' words)
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise UserError(
            "reading a GGUF file needs the gguf package and the torch stack: pip install 'divtools[train]' gguf",
            field=field,
        ) from None
    folder, name = str(path.parent), path.name
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        try:
            config = AutoConfig.from_pretrained(folder, gguf_file=name)
        except ValueError as exc:  # "GGUF model with architecture X is not supported yet."
            raise UserError(
                f"cannot load the GGUF file {path}: {exc} (transformers reads GGUF files of these "
                f"architectures: {', '.join(_supported())})",
                field=field,
            ) from None
        except (OSError, KeyError) as exc:
            raise UserError(f"cannot read the GGUF file {path}: {exc}", field=field) from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        except (OSError, ValueError, KeyError, NotImplementedError) as exc:
            raise UserError(f"cannot load the GGUF file {path}: {exc}", field=field) from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    # the GGUF model cannot be saved; a model built from the config without the quantisation
    # entry can, and takes the same (already float32) weights
    del config
    clean = quantised.config
    if hasattr(clean, "quantization_config"):
        delattr(clean, "quantization_config")
    clean.dtype = torch.float32
    if hasattr(clean, "_model_name_or_path"):  # the GGUF's general.name, not a loadable reference
        delattr(clean, "_model_name_or_path")
    plain = AutoModelForCausalLM.from_config(clean, dtype=torch.float32)
    try:
        plain.load_state_dict(quantised.state_dict(), strict=True)
    except RuntimeError as exc:  # pragma: no cover - a transformers change in the GGUF mapping
        raise UserError(f"the GGUF weights of {path} do not fit the model built from its config: {exc}",
                        field=field) from None
    plain.generation_config = quantised.generation_config
    if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
        tokenizer.pad_token = tokenizer.eos_token
    # GGUF tokenizers come with an unbounded length; the model's context is the real one
    limit = getattr(clean, "max_position_embeddings", None)
    if limit:
        tokenizer.model_max_length = int(limit)
    plain.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    saved = json.loads((out / "config.json").read_text(encoding="utf-8"))
    if "quantization_config" in saved:  # pragma: no cover - guards a transformers change
        raise RuntimeError("the materialised config still holds a quantization_config")
    return {
        "architecture": type(plain).__name__,
        "parameters": int(sum(p.numel() for p in plain.parameters())),
        "dtype": "float32",
    }


def _supported() -> list[str]:
    try:
        from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

        return sorted(GGUF_SUPPORTED_ARCHITECTURES)
    except ImportError:  # pragma: no cover
        return []
