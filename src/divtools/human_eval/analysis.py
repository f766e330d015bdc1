"""``human-eval analyze``: judgements + the key -> rates, tests, agreement, consistency, bias.

A judgement is one JSON line ``{"study_id", "item_id", "annotator", "diverse", "best_story",
"comment", "saved_at"}`` with each question answered ``"left"``, ``"right"`` or ``"tie"`` (what
the annotation page exports and ``serve`` collects). The key maps left/right to systems A/B.
Per question, rates and the sign test count each annotator's judgement of each *original* item
once (repeated items only measure consistency); when an annotator judged an item twice in the
files (re-exports), the later ``saved_at`` wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from divtools.errors import UserError
from divtools.human_eval import statistics as st

__all__ = ["QUESTIONS", "analyze", "read_judgements", "results_paragraph"]

#: question id -> what the page asks (the paper's two questions)
QUESTIONS = {"diverse": "Which set of stories is more diverse?",
             "best_story": "Which set holds the best story?"}
POSITIONS = ("left", "right", "tie")


def read_judgements(paths: Sequence[Path]) -> list[dict]:
    """Every judgement of the given JSONL files (a folder: its ``*.jsonl`` files)."""
    from divtools.jsonl import read_jsonl

    files: list[Path] = []
    for path in map(Path, paths):
        files += sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise UserError("no judgement files (JSONL) given", field="JUDGEMENTS")
    out = []
    for path in files:
        for number, row in read_jsonl(path):
            row = dict(row)
            row["_where"] = f"{path}: line {number}"
            out.append(row)
    return out


def _check(row: Mapping[str, Any], key: Mapping[str, Any]) -> None:
    where = row["_where"]
    if row.get("study_id") not in (None, key["study_id"]):
        raise UserError(f"judgement of study '{row.get('study_id')}', but the key is of '{key['study_id']}': "
                        "give the key made with these items", field=where)
    if not isinstance(row.get("annotator"), str) or not row["annotator"].strip():
        raise UserError("no 'annotator' id (the page asks for one before any answer)", field=where)
    if row.get("item_id") not in key["items"]:
        raise UserError(f"item '{row.get('item_id')}' is not in the key", field=where)
    for q in QUESTIONS:
        if row.get(q) not in POSITIONS + (None,):
            raise UserError(f"'{q}' is {row.get(q)!r}; expected one of left, right, tie", field=where)


def _system_answer(position: str, item: Mapping[str, Any], systems: Mapping[str, str]) -> str:
    if position == "tie":
        return "tie"
    name = item[position]
    return "A" if name == systems["A"] else "B"


def analyze(judgements: Iterable[Mapping[str, Any]], key: Mapping[str, Any]) -> dict:
    """The study's numbers per question (see :mod:`divtools.human_eval.statistics`)."""
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for row in judgements:
        _check(row, key)
        ident = (row["annotator"].strip(), row["item_id"])
        if ident not in latest or str(row.get("saved_at") or "") >= str(latest[ident].get("saved_at") or ""):
            latest[ident] = row
    if not latest:
        raise UserError("the judgement files hold no judgement", field="JUDGEMENTS")
    items, systems = key["items"], key["systems"]
    out: dict[str, Any] = {"study_id": key["study_id"], "systems": dict(systems),
                           "n_judgements": len(latest), "annotators": sorted({a for a, _ in latest}),
                           "questions": {}}
    for q, text in QUESTIONS.items():
        answered = {ident: row[q] for ident, row in latest.items() if row.get(q) is not None}
        originals = {ident: pos for ident, pos in answered.items() if items[ident[1]]["repeat_of"] is None}
        by_system = {ident: _system_answer(pos, items[ident[1]], systems) for ident, pos in originals.items()}
        by_item: dict[str, dict[str, str]] = {}
        for (annotator, item_id), answer in by_system.items():
            by_item.setdefault(item_id, {})[annotator] = answer
        repeat_pairs = []
        for (annotator, item_id), pos in answered.items():
            original = items[item_id]["repeat_of"]
            if original is not None and (annotator, original) in answered:
                repeat_pairs.append((_system_answer(answered[(annotator, original)], items[original], systems),
                                     _system_answer(pos, items[item_id], systems)))
        annotators = sorted({a for a, _ in by_system})
        out["questions"][q] = {
            "question": text,
            "rates": st.rates(list(by_system.values())),
            # one annotator far from the others is worth a look before pooling
            "by_annotator": {a: st.rates([v for (who, _), v in by_system.items() if who == a]) for a in annotators},
            "agreement": st.agreement(by_item),
            "consistency": st.consistency(repeat_pairs),
            "position_bias": st.position_bias(list(answered.values())),
        }
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _ci(ci: Sequence[float] | None) -> str:
    return "–" if not ci else f"{100 * ci[0]:.0f}–{100 * ci[1]:.0f}%"


def _p(p: float | None) -> str:
    if p is None:
        return "p undefined"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def results_paragraph(result: Mapping[str, Any]) -> str:
    """A paragraph of results, in the paper's terms, for a write-up (Markdown)."""
    a, b = result["systems"]["A"], result["systems"]["B"]
    n_ann = len(result["annotators"])
    parts = [f"{n_ann} annotator(s) compared sets of stories from **{a}** and **{b}** "
             f"({result['n_judgements']} judgements)."]
    for q, name in (("diverse", "more diverse"), ("best_story", "holding the best story")):
        res = result["questions"][q]
        r = res["rates"]
        if not r["n"]:
            continue
        parts.append(
            f"Asked which set is {name}, they chose {a} in {_pct(r['win_rate'])} (95% CI {_ci(r['win_ci95'])}) and "
            f"{b} in {_pct(r['loss_rate'])} ({_ci(r['loss_ci95'])}) of {r['n']} judgements, with "
            f"{_pct(r['tie_rate'])} ties (two-sided sign test, {_p(r['sign_test_p'])}).")
        agree = res["agreement"]
        if agree["cohen_kappa"] is not None:
            parts.append(f"Agreement: Cohen's κ = {agree['cohen_kappa']:.2f} over {agree['n_common_items']} items.")
        elif agree["krippendorff_alpha"] is not None:
            parts.append(f"Agreement: Krippendorff's α = {agree['krippendorff_alpha']:.2f}.")
        cons = res["consistency"]
        if cons["n"]:
            parts.append(f"Repeated items (sides swapped) got the same answer {_pct(cons['rate'])} of the time "
                         f"({cons['agree']}/{cons['n']}).")
        bias = res["position_bias"]
        if bias["n_decided"]:
            parts.append(f"The left set was chosen in {_pct(bias['left_rate'])} of decided answers "
                         f"({_p(bias['p'])} against 50%).")
    return " ".join(parts)
