"""Regenerate the malformed data files in ``bad_data/`` (run from this folder's parent:
``python tests/reliability/make_bad_data.py``). Every file is a small valid set with ONE defect;
``test_bad_data.py`` says what divtools must answer for each."""

from __future__ import annotations

import csv
import json
from pathlib import Path

OUT = Path(__file__).parent / "bad_data"

P1, P2 = "Write about the sea.", "Write about fire."
GOOD = [
    {"prompt": P1, "response": "Waves break on the grey stones.", "score": 3, "id": "s1"},
    {"prompt": P1, "response": "Salt and wind and gulls.", "score": 12, "id": "s2"},
    {"prompt": P1, "response": "The tide forgets nothing.", "score": 1, "id": "s3"},
    {"prompt": P2, "response": "It burns and then it sleeps.", "score": 0, "id": "f1"},
    {"prompt": P2, "response": "Embers glow under ash.", "score": 9, "id": "f2"},
    {"prompt": P2, "response": "Smoke writes on the sky.", "score": 4, "id": "f3"},
]
GENS = [{"system": "m", "prompt": P1, "response": t, "id": f"m{i}", "sample": i}
        for i, t in enumerate(["Waves.", "Salt and wind.", "Gulls cry."])] + \
       [{"system": "m", "prompt": P2, "response": t, "id": f"n{i}", "sample": i}
        for i, t in enumerate(["Burns.", "Embers glow.", "Smoke rises."])]
GOLD = [{"prompt": P1, "response": t, "id": f"h{i}"} for i, t in enumerate(["Foam.", "Shells.", "Blue."])] + \
       [{"prompt": P2, "response": t, "id": f"k{i}"} for i, t in enumerate(["Heat.", "Ash.", "Light."])]
WP = [{"post_title": "[WP] The sea", "post_text": "", "comment_texts": ["Waves.", "Salt.", "Gulls."],
       "comment_scores": [3, 12, 1]},
      {"post_title": "[WP] Fire", "post_text": "Short.", "comment_texts": ["Burns.", "Embers."], "comment_scores": [0, 9]}]


def lines(name: str, items, tail: bytes = b"") -> None:
    with open(OUT / name, "wb") as f:
        for item in items:
            f.write(item if isinstance(item, bytes) else
                    (item if isinstance(item, str) else json.dumps(item)).encode("utf-8"))
            f.write(b"\n")
        f.write(tail)


def changed(rows, i, **kw):
    rows = [dict(r) for r in rows]
    for k, v in kw.items():
        if v is ...:
            del rows[i][k]
        else:
            rows[i][k] = v
    return rows


def dumps_replace(rows, i, old, new):
    return [json.dumps(r).replace(old, new) if j == i else json.dumps(r) for j, r in enumerate(rows)]


def write_csv(name, header, rows):
    with open(OUT / name, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(r)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    # ---- prepare: jsonl source
    lines("jsonl_missing_score_column.jsonl", [{k: v for k, v in r.items() if k != "score"} for r in GOOD])
    lines("jsonl_missing_field_in_row_4.jsonl", changed(GOOD, 3, score=...))
    lines("jsonl_extra_columns.jsonl", [dict(r, author="anon", extra={"nested": [1, 2]}) for r in GOOD])
    lines("jsonl_score_not_a_number.jsonl", changed(GOOD, 1, score="lots"))
    lines("jsonl_score_nan.jsonl", dumps_replace(GOOD, 2, '"score": 1', '"score": NaN'))
    lines("jsonl_score_infinity.jsonl", dumps_replace(GOOD, 4, '"score": 9', '"score": -Infinity'))
    lines("jsonl_score_bool.jsonl", changed(GOOD, 0, score=True))
    lines("jsonl_score_list.jsonl", changed(GOOD, 5, score=[4]))
    lines("jsonl_response_not_text.jsonl", changed(GOOD, 2, response=42))
    lines("jsonl_prompt_not_text.jsonl", changed(GOOD, 4, prompt={"text": P2}))
    lines("jsonl_prompt_null.jsonl", changed(GOOD, 0, prompt=None))
    lines("jsonl_empty_strings.jsonl", changed(GOOD, 1, response="") + [
        {"prompt": P1, "response": "   ", "score": 5, "id": "s4"}])
    lines("jsonl_duplicate_responses.jsonl", GOOD + [
        {"prompt": P1, "response": "Waves break on the grey stones. ", "score": 7, "id": "s9"}])
    lines("jsonl_duplicate_ids.jsonl", changed(GOOD, 4, id="f1"))
    lines("jsonl_single_response_prompts.jsonl", GOOD + [
        {"prompt": "Lonely prompt one.", "response": "Only me.", "score": 2, "id": "l1"},
        {"prompt": "Lonely prompt two.", "response": "Me too.", "score": 8, "id": "l2"}])
    lines("jsonl_invalid_utf8.jsonl", [json.dumps(r).encode().replace(b"tide", b"t\xe9de") for r in GOOD])
    lines("jsonl_truncated_last_line.jsonl", GOOD[:-1], tail=json.dumps(GOOD[-1]).encode()[:30])
    lines("jsonl_non_json_line.jsonl", GOOD[:3] + ["prompt=Write about fire., response=It burns"] + GOOD[3:])
    lines("jsonl_array_line.jsonl", GOOD[:2] + ['["Write about the sea.", "Waves.", 3]'] + GOOD[2:])
    lines("jsonl_lone_surrogate.jsonl", dumps_replace(GOOD, 1, "gulls", "gulls\\ud800"))
    lines("jsonl_empty.jsonl", [])
    # ---- prepare: csv source
    header = ["prompt", "response", "score", "id"]
    rows = [[r[h] for h in header] for r in GOOD]
    write_csv("csv_ragged_row.csv", header, [rows[0], rows[1], rows[2][:2], *rows[3:]])
    write_csv("csv_missing_score_column.csv", ["prompt", "response", "id"], [[r[0], r[1], r[3]] for r in rows])
    write_csv("csv_score_nan.csv", header, [rows[0], [rows[1][0], rows[1][1], "nan", rows[1][3]], *rows[2:]])
    write_csv("csv_score_empty.csv", header, [rows[0], rows[1], [rows[2][0], rows[2][1], "", rows[2][3]], *rows[3:]])
    write_csv("csv_header_only.csv", header, [])
    (OUT / "csv_unclosed_quote.csv").write_text(
        "prompt,response,score,id\n" + "".join(",".join(map(str, r)) + "\n" for r in rows[:3])
        + '"Write about fire.,It burns,0,f1\n', encoding="utf-8")
    lines("csv_invalid_utf8.csv", [",".join(header)] + [",".join(map(str, r)).encode().replace(b"Embers", b"Emb\xffers")
                                                         for r in rows])
    # ---- prepare: parquet source
    import pyarrow as pa
    import pyarrow.parquet as pq

    prompts = [r["prompt"] for r in GOOD]
    texts = [r["response"] for r in GOOD]
    scores = [float(r["score"]) for r in GOOD]
    pq.write_table(pa.table({"prompt": prompts, "response": texts,
                             "score": [str(s) if i != 3 else "many" for i, s in enumerate(scores)]}),
                   OUT / "parquet_score_string.parquet")
    pq.write_table(pa.table({"prompt": prompts, "response": texts,
                             "score": [s if i != 2 else None for i, s in enumerate(scores)]}),
                   OUT / "parquet_null_score.parquet")
    pq.write_table(pa.table({"prompt": prompts, "response": texts,
                             "score": [s if i != 5 else float("nan") for i, s in enumerate(scores)]}),
                   OUT / "parquet_score_nan.parquet")
    pq.write_table(pa.table({"prompt": prompts, "text": texts, "score": scores}),
                   OUT / "parquet_missing_response_column.parquet")
    pq.write_table(pa.table({"prompt": prompts, "response": [len(t) for t in texts], "score": scores}),
                   OUT / "parquet_response_int.parquet")
    (OUT / "parquet_not_parquet.parquet").write_text("prompt,response,score\na CSV file named .parquet,x,1\n")
    # ---- prepare: writingprompts source (local file)
    lines("wp_length_mismatch.jsonl", [WP[0], dict(WP[1], comment_scores=[0])])
    lines("wp_title_not_text.jsonl", [WP[0], dict(WP[1], post_title=17)])
    lines("wp_missing_post_text.jsonl", [{k: v for k, v in w.items() if k != "post_text"} for w in WP])
    lines("wp_scores_not_a_list.jsonl", [WP[0], dict(WP[1], comment_scores="0, 9")])
    lines("wp_score_nan.jsonl", [json.dumps(WP[0]), json.dumps(WP[1]).replace("[0, 9]", "[0, NaN]")])
    # ---- evaluate: generations file
    lines("gens_missing_response.jsonl", changed(GENS, 1, response=...))
    lines("gens_response_not_text.jsonl", changed(GENS, 4, response=["Embers", "glow"]))
    lines("gens_prompt_null.jsonl", changed(GENS, 0, prompt=None))
    lines("gens_duplicate_ids.jsonl", changed(GENS, 5, id="n1"))
    lines("gens_duplicate_sample_index.jsonl", changed(GENS, 2, sample=1))
    lines("gens_negative_sample_index.jsonl", changed(GENS, 2, sample=-3))
    lines("gens_prompt_id_two_texts.jsonl", [dict(r, prompt_id="p1") for r in GENS])
    lines("gens_system_not_text.jsonl", changed(GENS, 3, system=7))
    lines("gens_invalid_utf8.jsonl", [json.dumps(r).encode().replace(b"Burns", b"Bu\xc3rns") for r in GENS])
    lines("gens_truncated_last_line.jsonl", GENS[:-1], tail=json.dumps(GENS[-1]).encode()[:25])
    lines("gens_non_json_line.jsonl", GENS[:2] + ["<html>502 Bad Gateway</html>"] + GENS[2:])
    lines("gens_empty_responses.jsonl", changed(GENS, 1, response=""))
    lines("gens_single_response_prompt.jsonl", GENS + [
        {"system": "m", "prompt": "Lonely prompt.", "response": "Only me.", "id": "z0", "sample": 0}])
    lines("gens_blank_lines_only.jsonl", ["", ""])
    # ---- evaluate: gold file
    lines("gold_missing_prompt.jsonl", changed(GOLD, 4, prompt=...))
    lines("gold_too_few_for_one_prompt.jsonl", GOLD[:4])
    lines("gold_duplicate_ids.jsonl", changed(GOLD, 2, id="h0"))
    lines("gold_invalid_utf8.jsonl", [json.dumps(r).encode().replace(b"Ash", b"A\x80sh") for r in GOLD])


if __name__ == "__main__":
    main()
