"""report.md (headline + appendix, sane rounding, escaped names) and report.html (self-contained,
its sample browser driven in a real headless Chromium)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from divtools.errors import UserError
from divtools.reporters.markdown_report import escape, format_interval
from report_data import build_run, load

EVIL = "evil\n<b id=\"injected\">bold</b>|</script><script>window.pwned=1</script>"


def test_interval_rounding():
    assert format_interval({"mean": 0.94731, "ci95": [0.91234, 0.97345]}) == "0.947 [0.912, 0.973]"
    assert format_interval({"mean": 123.456, "ci95": [118.2, 129.7]}) == "123 [118, 130]"
    assert format_interval({"mean": 0.0012345, "ci95": [0.0010049, 0.00151]}) == "0.00123 [0.00100, 0.00151]"
    assert format_interval({"mean": None, "ci95": None}) == "–"


def test_escape_keeps_a_name_on_one_line_and_out_of_markup():
    text = escape(EVIL)
    assert "\n" not in text and "<" not in text and ">" not in text
    assert "\\|" in text and "&lt;b id=" in text and "\\\\n" in text


def test_headline_table_appendix_and_a_hostile_system_name(tmp_path):
    out = build_run(tmp_path, {"sft": 1, EVIL: 4}, headline=["quality", "self_bleu"],
                    reporters=[{"kind": "json"}, {"kind": "markdown"}])
    report = load(out / "report.json")
    md = (out / "report.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0] == "| system | prompts | quality | self_bleu ↓ |"  # the spec's headline, in its order
    assert len(table) == 2 + 3 and all(line.count("|") - line.count("\\|") == 5 for line in table)
    assert "<b" not in md and "<script" not in md
    res = report["results"]["sft"]["quality"]
    assert f"| sft | 6 | {format_interval(res)} |" in md
    appendix = (out / "report-appendix.md").read_text()
    assert "| system | prompts | d2 ↑ | self_bleu ↓ | length | quality |" in appendix
    assert "## Effective diversity" in appendix and "Effective diversity" not in md
    assert "report-appendix.md" in md


def test_headline_must_name_labels(tmp_path):
    with pytest.raises(UserError, match="headline: 'nope' is not a metric or scorer label"):
        build_run(tmp_path, {"sft": 1}, headline=["nope"])


@pytest.mark.slow
def test_html_report_is_self_contained_and_can_be_turned_off(tmp_path):
    out = build_run(tmp_path / "a", {"sft": 1, "ddpo": 4})
    page = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)  # nothing fetched
    assert "<img" in page and 'src="data:image/svg+xml;base64,' in page
    off = build_run(tmp_path / "b", {"sft": 1}, html_report=False)
    assert not (off / "report.html").exists() and (off / "report.md").exists()
    with pytest.raises(UserError, match="html_report: false, but 'reporters' lists kind 'html'"):
        build_run(tmp_path / "c", {"sft": 1}, html_report=False, reporters=[{"kind": "html"}])


@pytest.mark.slow
def test_sample_browser_in_chromium(browser, tmp_path):
    out = build_run(tmp_path, {"sft": 1, "dpo": 2, EVIL: 4})
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    report = load(out / "report.json")
    browser.get((out / "report.html").as_uri())
    assert browser.title == "divtools evaluation report"
    assert browser.execute_script("return window.pwned === undefined && !document.getElementById('injected')")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#fig-quality_vs_diversity img")) == 1
    assert browser.execute_script("return document.querySelector('#fig-quality_vs_diversity img').naturalWidth") > 100
    select = Select(browser.find_element(By.ID, "prompt-select"))
    assert len(select.options) == report["protocol"]["n_prompts"]
    for pid in ("q3", "q0"):
        select.select_by_index(report["protocol"]["prompt_ids"].index(pid))
        assert browser.find_element(By.ID, "prompt-text").text == report["prompts"][pid]
        columns = browser.find_elements(By.CSS_SELECTOR, ".system-column")
        names = [c.get_attribute("data-system") for c in columns]
        assert names == report["order"]["systems"]  # every system side by side, the hostile name as text
        for column in columns:
            shown = [c.find_element(By.CSS_SELECTOR, ".text").text for c in column.find_elements(By.CSS_SELECTOR, ".sample")]
            expected = [s["response"] for s in sorted(samples, key=lambda s: s["k"])
                        if s["system"] == column.get_attribute("data-system") and s["prompt_id"] == pid]
            assert shown == expected
    browser.save_screenshot(str(tmp_path / "report.png"))
    # per-sample scores and deviations; sorting by a score; filtering by text
    ddpo = browser.find_element(By.CSS_SELECTOR, ".system-column[data-system='dpo']")
    assert ddpo.find_elements(By.CSS_SELECTOR, ".sample .score") and ddpo.find_elements(By.CSS_SELECTOR, ".sample .deviation")
    Select(browser.find_element(By.ID, "sort")).select_by_value("s:quality")
    browser.find_element(By.ID, "descending").click()
    mine = sorted((s for s in samples if s["system"] == "dpo" and s["prompt_id"] == "q0"),
                  key=lambda s: (-s["scores"]["quality"], -s["k"]))
    ddpo = browser.find_element(By.CSS_SELECTOR, ".system-column[data-system='dpo']")
    assert [int(c.get_attribute("data-k")) for c in ddpo.find_elements(By.CSS_SELECTOR, ".sample")] == [s["k"] for s in mine]
    word = mine[0]["response"].split()[0]
    browser.find_element(By.ID, "filter").send_keys(word)
    for column in browser.find_elements(By.CSS_SELECTOR, ".system-column"):
        for card in column.find_elements(By.CSS_SELECTOR, ".sample .text"):
            assert word.lower() in card.text.lower()
    assert browser.find_elements(By.CSS_SELECTOR, ".sample")
    browser.save_screenshot(str(tmp_path / "report-filtered.png"))
    # a floor on the sort value (here quality >= 3), and hiding a system
    browser.find_element(By.ID, "filter").clear()
    browser.find_element(By.ID, "filter").send_keys(" ")  # clear() fires no input event
    browser.find_element(By.ID, "min-value").send_keys("3")
    dpo = browser.find_element(By.CSS_SELECTOR, ".system-column[data-system='dpo']")
    assert [int(c.get_attribute("data-k")) for c in dpo.find_elements(By.CSS_SELECTOR, ".sample")] == [
        s["k"] for s in mine if s["scores"]["quality"] >= 3]
    browser.find_element(By.CSS_SELECTOR, "#system-toggles input[data-system='sft']").click()
    assert [c.get_attribute("data-system") for c in browser.find_elements(By.CSS_SELECTOR, ".system-column")] == [
        n for n in report["order"]["systems"] if n != "sft"]


def test_default_headline_is_compact():
    from divtools.reporters import headline_labels

    labels = {f"m{i}": {"type": "metric"} for i in range(8)} | {"reward": {"type": "scorer"}, "length": {"type": "scorer"}}
    report = {"labels": labels, "order": {"labels": list(labels)}, "spec": {}}
    assert headline_labels(report) == ["m0", "m1", "m2", "reward", "length"]  # the quickstart's shape: 10 labels
    many = {f"s{i}": {"type": "scorer"} for i in range(5)}
    report = {"labels": {**labels, **many}, "order": {"labels": [*labels, *many]}, "spec": None}
    assert len(headline_labels(report)) == 6
    report["spec"] = {"headline": ["m7", "s4"]}
    assert headline_labels(report) == ["m7", "s4"]
