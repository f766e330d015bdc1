"""Hugging Face datasets: ``datasets.load_dataset`` (hub id or local files, pinned revision) or a
folder written by ``save_to_disk``, under a column mapping."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from divtools.api import Group, Source
from divtools.data.sources.rows import RowGrouper
from divtools.errors import UserError

__all__ = ["HfDatasetSource", "dataset_rows", "load_hf"]


def load_hf(params, name: str, config: str | None = None):
    """``datasets.load_dataset`` with the pinned revision, split and data files."""
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets ships with divtools[train]
        raise UserError("loading Hugging Face datasets needs 'datasets': pip install 'divtools[train]'") from None
    kwargs: dict[str, Any] = {"split": params.split}
    if params.revision is not None:
        kwargs["revision"] = params.revision
    if params.data_files is not None:
        kwargs["data_files"] = params.data_files
    if params.cache_dir is not None:
        kwargs["cache_dir"] = str(params.cache_dir)
    _refuse_scripts(name)
    try:
        saved = _load_saved(datasets, name, params.split)
        if saved is not None:
            return saved
        return datasets.load_dataset(name, config, **kwargs)
    except RuntimeError as exc:  # a hub dataset that is a loading script
        if "scripts are no longer supported" in str(exc):
            raise UserError(f"the dataset is a loading script (Python code); {_NO_SCRIPTS}", file=name,
                            field="source") from None
        raise
    except FileNotFoundError as exc:
        raise UserError(f"dataset not found: {exc}", file=name, field="source") from None
    except ValueError as exc:  # bad split names, unknown configs, empty data files
        raise UserError(f"could not load the dataset: {exc}", file=name, field="source") from None
    except Exception as exc:
        # offline hub misses and revision errors come as library-specific exceptions
        cls = type(exc).__name__
        if "Connection" in cls or "Offline" in cls or "Revision" in cls or "NotFound" in cls or "Hub" in cls:
            raise UserError(f"could not load the dataset ({cls}): {exc}", file=name, field="source") from None
        raise


_NO_SCRIPTS = ("divtools never runs a dataset's code: export the data to JSONL, CSV or Parquet files "
               "(or save_to_disk) and point the source at those")


def _refuse_scripts(name: str) -> None:
    """A local dataset folder with a loading script (``NAME/NAME.py`` or any ``*.py`` at its top)
    is refused before ``datasets`` looks at it: running it would run the folder's code."""
    folder = Path(name)
    if folder.is_dir():
        scripts = sorted(p.name for p in folder.glob("*.py"))
        if scripts:
            raise UserError(f"the dataset folder holds a loading script ({', '.join(scripts[:3])}); {_NO_SCRIPTS}",
                            file=name, field="source")


def _load_saved(datasets: Any, name: str, split: str):
    """A folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (Arrow files
    only, no code), read with ``load_from_disk``: ``load_dataset`` refuses such folders. None for
    anything else."""
    folder = Path(name)
    if not (folder.is_dir() and ((folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file())):
        return None
    ds = datasets.load_from_disk(str(folder))
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise UserError(f"no split '{split}' in this saved dataset; it has: {', '.join(ds)}", file=name, field="split")
        return ds[split]
    return ds


def dataset_rows(ds) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in enumerate(ds, start=1):
        yield number, row


class HfDatasetSource(Source):
    """Any dataset ``datasets.load_dataset`` can read, under a column mapping."""

    def __init__(self, params) -> None:
        self.params = params
        self.dropped: Counter[str] = Counter()

    def identity(self) -> dict[str, Any]:
        p = self.params
        return {"kind": p.kind, "name": p.name, "config": p.config, "revision": p.revision, "split": p.split,
                "data_files": p.data_files}

    def load(self) -> list[Group]:
        p = self.params
        ds = load_hf(p, p.name, p.config)
        grouper = RowGrouper(p.columns, p.layout, p.on_bad_row, p.name)
        grouper.check_columns(ds.column_names)
        for number, row in dataset_rows(ds):
            grouper.add(number, row)
        self.dropped = grouper.dropped
        return grouper.groups()
