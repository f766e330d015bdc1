"""``run: prepare``: source -> cleaning -> split -> pairs -> deviations -> weights -> files.

Files written into ``output.dir`` (each atomically; ``summary.json`` last, so a directory
without it holds no finished run; ``divtools-run.json`` is the :class:`~divtools.rundir.RunDir`
manifest):

- ``train.jsonl`` / ``train.parquet`` (and ``eval.*`` when ``split.eval_fraction`` > 0): one row
  per pair, columns :data:`PAIR_COLUMNS` + ``deviation_<label>_chosen`` / ``_rejected`` per metric
  (+ ``system_prompt`` when the source has system messages);
- ``eval_responses.jsonl``: the held-out prompts' responses in the generations format of
  ``run: evaluate`` (``system: human``), the human reference for diversity evaluation;
- ``reward_train.jsonl`` / ``reward_eval.jsonl`` with ``reward_data: true``;
- ``summary.json``: counts, drops by reason, degenerate pools, weight distribution, settings.

Everything is computed before the first file is written, so bad data never leaves half an output.
Same spec, same data and same seed give byte-identical files.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any, Sequence


from divtools.api import Group, Pair
from divtools.atomic import atomic_write, write_json
from divtools.errors import UserError

__all__ = ["PAIR_COLUMNS", "run", "pair_rows", "write_rows"]

#: fixed leading columns of the preference dataset (the trainer reads these names)
PAIR_COLUMNS = (
    "prompt", "chosen", "rejected", "weight", "chosen_score", "rejected_score",
    "prompt_id", "chosen_id", "rejected_id", "pair_builder",
)
#: every file a prepare run may write (cleaned up on restart / when no longer produced)
KNOWN_FILES = (
    "train.jsonl", "train.parquet", "eval.jsonl", "eval.parquet", "eval_responses.jsonl",
    "reward_train.jsonl", "reward_eval.jsonl", "summary.json",
)


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(f"prepare: {message}", file=sys.stderr, flush=True)


def _fingerprint(spec, source_identity: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = spec.model_dump(mode="json", exclude={"output": {"dir", "on_existing"}})
    blob = json.dumps({"spec": data, "source": source_identity}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest(), data


def _precheck(spec, out: Path, data_fingerprint: str) -> bool:
    """Claim the folder and fail fast (before any work) where :class:`~divtools.rundir.RunDir`
    would refuse it; True when it already holds this finished run on the same data and may be
    reused. Nothing in the folder changes until the outputs are ready (``RunDir.open``)."""
    from divtools.rundir import RunDir

    if RunDir.check(spec) != "resume":
        return False
    try:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return summary.get("spec_sha256") == data_fingerprint and all((out / f).exists() for f in summary.get("files", []))


def pair_rows(pairs: Sequence[Pair], weights, labels: Sequence[str], *, system: bool,
              builder: str = "") -> list[dict[str, Any]]:
    """Dataset rows in the fixed column order; ``builder`` names pairs whose builder did not."""
    rows = []
    for k, p in enumerate(pairs):
        row: dict[str, Any] = {
            "prompt": p.prompt,
            "chosen": p.chosen.text,
            "rejected": p.rejected.text,
            "weight": float(weights.weight[k]),
            "chosen_score": None if p.chosen.score is None else float(p.chosen.score),
            "rejected_score": None if p.rejected.score is None else float(p.rejected.score),
            "prompt_id": p.prompt_id,
            "chosen_id": p.chosen.id,
            "rejected_id": p.rejected.id,
            "pair_builder": p.meta.get("pair_builder") or builder,
        }
        for label in labels:
            row[f"deviation_{label}_chosen"] = float(weights.deviation_chosen[label][k])
            row[f"deviation_{label}_rejected"] = float(weights.deviation_rejected[label][k])
        for label, w in weights.per_metric.items():
            row[f"weight_{label}"] = float(w[k])
        if system:
            row["system_prompt"] = p.meta.get("system")
        rows.append(row)
    return rows


def _arrow_type(pa, column: str):
    if column in ("weight", "chosen_score", "rejected_score", "score", "target") or column.startswith(("deviation_", "weight_")):
        return pa.float64()
    return pa.string()


def write_rows(path: Path, rows: list[dict[str, Any]], columns: Sequence[str]) -> Path:
    """JSONL (one object per line, columns in order) or Parquet (typed schema), atomically."""
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([(c, _arrow_type(pa, c)) for c in columns])
        table = pa.Table.from_pydict({c: [r.get(c) for r in rows] for c in columns}, schema=schema)
        buf = io.BytesIO()
        pq.write_table(table, buf)
        with atomic_write(path, "wb") as fh:
            fh.write(buf.getvalue())
        return path
    with atomic_write(path) as fh:
        for r in rows:
            fh.write(json.dumps({c: r.get(c) for c in columns}, ensure_ascii=False, allow_nan=False))
            fh.write("\n")
    return path


def _component(kind: str, params) -> dict[str, Any]:
    from divtools.components import info

    i = info(kind, params)
    return {"name": i.name, "plugin": i.plugin, "plugin_version": i.plugin_version}


def _reward_rows(groups: Sequence[Group], transform) -> list[dict[str, Any]]:
    rows = []
    for g in groups:
        targets = transform([r.score for r in g.responses])
        for r, t in zip(g.responses, targets):
            rows.append({"prompt": g.prompt, "response": r.text, "score": float(r.score), "target": float(t),
                         "prompt_id": g.prompt_id, "response_id": r.id})
    return rows


def run(spec, *, quiet: bool = False) -> Path:
    """Run a validated :class:`~divtools.spec.prepare.PrepareSpec`; returns the training dataset path."""
    from divtools import __version__
    from divtools.components import build
    from divtools.data.cleaning import clean_groups
    from divtools.data.score_transform import ScoreTransform
    from divtools.data.split import split_groups
    from divtools.data.weights import WeightSettings, weigh_pairs

    from divtools.redact import redact_data
    from divtools.rundir import RunDir

    out = Path(spec.output.dir)
    formats = list(dict.fromkeys(spec.output.formats))
    main_file = out / f"train.{formats[0]}"

    source = build("source", spec.source)
    identity = source.identity() if hasattr(source, "identity") else {"kind": spec.source.kind}
    fingerprint, spec_data = _fingerprint(spec, identity)
    if _precheck(spec, out, fingerprint):
        _say(quiet, f"{out} already holds this run (on_existing: resume); nothing to do")
        return main_file

    _say(quiet, f"loading {spec.source.kind}")
    groups = source.load()
    source_dropped = dict(sorted(getattr(source, "dropped", {}).items()))
    loaded_prompts, loaded_responses = len(groups), sum(len(g.responses) for g in groups)
    groups, report = clean_groups(groups, spec.cleaning)
    if not groups:
        raise UserError(
            f"no prompt is left with at least {spec.cleaning.min_responses} responses after cleaning "
            f"({loaded_prompts} prompts, {loaded_responses} responses loaded; dropped: "
            f"{report.as_dict()['responses']})",
            file=str(spec.source.path) if getattr(spec.source, "path", None) else None,
            field="cleaning",
        )
    train, held = split_groups(groups, eval_fraction=spec.split.eval_fraction, seed=spec.split.seed)
    splits = {"train": train}
    if spec.split.eval_fraction > 0:
        splits["eval"] = held

    builder = build("pair_builder", spec.pair_builder)
    metrics = [(m.display, build("metric", m)) for m in spec.metrics]
    labels = [label for label, _ in metrics]
    settings = WeightSettings.from_spec(spec.weights)
    has_system = any(g.system for g in groups)
    columns = list(PAIR_COLUMNS)
    for label in labels:
        columns += [f"deviation_{label}_chosen", f"deviation_{label}_rejected"]
    if settings.per_metric and labels:
        columns += [f"weight_{label}" for label in labels]
    if has_system:
        columns.append("system_prompt")

    outputs: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
    split_summary: dict[str, Any] = {}
    builder_notes: list[str] = []
    for name, part in splits.items():
        _say(quiet, f"{name}: pairing {len(part)} prompts with {spec.pair_builder.kind}")
        pairs = builder.build(part, seed=spec.seed)
        if has_system:
            by_id = {g.prompt_id: g.system for g in part}
            for p in pairs:
                p.meta["system"] = by_id.get(p.prompt_id)
        if name == "train" and not pairs:
            raise UserError(
                f"the pair builder '{spec.pair_builder.kind}' made no training pairs from {len(part)} prompts "
                "(are all scores equal, or the gap too large?)",
                field="pair_builder",
            )
        builder_notes += [f"{name}: {note}" for note in builder.warnings(part)]
        _say(quiet, f"{name}: {len(pairs)} pairs; deviations with {', '.join(labels) or 'no metric'}")
        weights = weigh_pairs(part, pairs, metrics, settings)
        rows = pair_rows(pairs, weights, labels, system=has_system, builder=spec.pair_builder.kind)
        for fmt in formats:
            outputs[f"{name}.{fmt}"] = (rows, columns)
        split_summary[name] = {
            "prompts": len(part),
            "responses": sum(len(g.responses) for g in part),
            "prompts_with_pairs": len({p.prompt_id for p in pairs}),
            "pairs": len(pairs),
            **weights.stats,
        }

    if "eval" in splits:
        gen_cols = ["prompt", "response", "system", "id", "prompt_id", "score"]
        gen_rows = [
            {"prompt": g.prompt, "response": r.text, "system": "human", "id": r.id, "prompt_id": g.prompt_id,
             "score": r.score}
            for g in held for r in g.responses
        ]
        outputs["eval_responses.jsonl"] = (gen_rows, gen_cols)
    transform_info = None
    if spec.reward_data:
        if any(r.score is None for g in groups for r in g.responses):
            raise UserError("reward_data needs a score for every response; map source.columns.score",
                            field="reward_data")
        transform = ScoreTransform.fit([r.score for g in train for r in g.responses])
        transform_info = {"low": transform.low, "high": transform.high, "shift": transform.shift,
                          "iterations": transform.iterations}
        reward_cols = ["prompt", "response", "score", "target", "prompt_id", "response_id"]
        for name, part in splits.items():
            outputs[f"reward_{name}.jsonl"] = (_reward_rows(part, transform), reward_cols)

    summary = {
        "divtools_version": __version__,
        "spec_sha256": fingerprint,
        "spec": redact_data(spec_data),  # no secret in a record (divtools.redact)
        "source": identity,
        "components": {
            "source": _component("source", spec.source),
            "pair_builder": _component("pair_builder", spec.pair_builder),
            "metrics": {m.display: _component("metric", m) for m in spec.metrics},
        },
        "loaded": {"prompts": loaded_prompts, "responses": loaded_responses},
        "source_dropped_rows": source_dropped,
        "cleaning_dropped": report.as_dict(),
        "after_cleaning": {"prompts": len(groups), "responses": sum(len(g.responses) for g in groups)},
        "weights_settings": {k: getattr(settings, k) for k in ("preset", "pool", "normalise", "combine", "floor",
                                                               "cap", "renormalise", "per_metric")},
        "splits": split_summary,
        "score_transform": transform_info,
        "files": sorted([*outputs, "summary.json"]),
    }
    # the same numbers `divtools inspect DIR` computes from the written files (data/diagnostics.py)
    from divtools.data.diagnostics import diagnose_rows, format_diagnostics

    summary["pair_builder_warnings"] = builder_notes
    summary["diagnostics"] = diagnose_rows({name: outputs[f"{name}.{formats[0]}"][0] for name in splits}, summary)

    # all computed: now claim the directory (restart wipes it) and write; stale files of an
    # earlier run of this spec on other data go first
    RunDir.open(spec)
    for stale in KNOWN_FILES:
        if stale not in outputs and (out / stale).exists():
            (out / stale).unlink()
    for fname in sorted(outputs):
        rows, cols = outputs[fname]
        write_rows(out / fname, rows, cols)
    write_json(out / "summary.json", summary)
    _say(quiet, f"wrote {', '.join(sorted(outputs))} and summary.json to {out}")
    for line in format_diagnostics(summary["diagnostics"]):
        # warnings are printed even with quiet: they are about the data, not progress
        if line.startswith("warning: ") or not quiet:
            print(f"prepare: {line}", file=sys.stderr, flush=True)
    return main_file
