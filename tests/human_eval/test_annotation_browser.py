"""The annotation page in a real headless Chromium: answer items, reload (nothing lost), export,
and feed the export to ``analyze``; the same through ``serve`` on 127.0.0.1, where a reload with
the browser's storage wiped still finds every answer on the server."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from divtools.cli.main import cli

pytestmark = pytest.mark.slow


def _study(run_dir: Path, tmp_path: Path) -> tuple[Path, dict, list[dict]]:
    out = tmp_path / "study"
    result = CliRunner().invoke(cli, ["human-eval", "make", str(run_dir), "--systems", "ddpo", "sft",
                                      "--out", str(out), "--items", "3", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    key = json.loads((tmp_path / "study-key.json").read_text())
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    return out, key, items


def _answer(browser, diverse: str, best: str, comment: str = "") -> None:
    browser.find_element(By.CSS_SELECTOR, f"input[name=diverse][value={diverse}]").click()
    browser.find_element(By.CSS_SELECTOR, f"input[name=best_story][value={best}]").click()
    if comment:
        browser.find_element(By.ID, "comment").send_keys(comment)


def _checked(browser, name: str) -> str | None:
    boxes = browser.find_elements(By.CSS_SELECTOR, f"input[name={name}]:checked")
    return boxes[0].get_attribute("value") if boxes else None


def _answer_all(browser, items: list[dict], choices: list[tuple[str, str]]) -> None:
    for i, (item, (diverse, best)) in enumerate(zip(items, choices)):
        assert browser.find_element(By.ID, "prompt").text == item["prompt"]
        stories = browser.find_elements(By.CSS_SELECTOR, "#left .story")
        assert len(stories) == 4 and item["left"][0] in stories[0].text
        _answer(browser, diverse, best, comment="fine" if i == 0 else "")
        if i < len(items) - 1:
            browser.find_element(By.ID, "next").click()


CHOICES = [("left", "right"), ("right", "tie"), ("tie", "left"), ("left", "left")]


def test_answer_reload_export_analyze(browser, run_dir, tmp_path):
    out, key, items = _study(run_dir, tmp_path)
    browser.get((out / "annotate.html").as_uri() + "?annotator=ann1")
    _answer_all(browser, items, CHOICES)
    assert browser.find_element(By.ID, "progress").text == f"{len(items)} of {len(items)} answered"
    browser.save_screenshot(str(tmp_path / "annotate.png"))
    browser.refresh()  # nothing lost: the page starts from localStorage
    assert browser.find_element(By.ID, "progress").text == f"{len(items)} of {len(items)} answered"
    assert browser.find_element(By.ID, "position").text == f"item 1 of {len(items)}"  # all answered: from the start
    assert (_checked(browser, "diverse"), _checked(browser, "best_story")) == CHOICES[0]
    assert browser.find_element(By.ID, "comment").get_attribute("value") == "fine"
    browser.find_element(By.ID, "export").click()
    text = browser.find_element(By.ID, "export-text").get_attribute("value")
    (tmp_path / "ann1.jsonl").write_text(text)
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["item_id"], r["diverse"], r["best_story"]) for r in rows] == [
        (i["item_id"], *c) for i, c in zip(items, CHOICES)]
    result = CliRunner().invoke(cli, ["human-eval", "analyze", str(tmp_path / "ann1.jsonl"),
                                      "--key", str(tmp_path / "study-key.json"), "--out", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    analysis = json.loads((tmp_path / "a.json").read_text())
    expected = {"A": 0, "B": 0, "tie": 0}
    for item, (diverse, _) in zip(items[:3], CHOICES):
        entry = key["items"][item["item_id"]]
        expected["tie" if diverse == "tie" else ("A" if entry[diverse] == "ddpo" else "B")] += 1
    rates = analysis["questions"]["diverse"]["rates"]
    assert (rates["wins"], rates["losses"], rates["ties"]) == (expected["A"], expected["B"], expected["tie"])
    assert analysis["questions"]["diverse"]["consistency"]["n"] == 1


def test_served_page_collects_judgements_and_survives_a_wiped_browser(browser, run_dir, tmp_path):
    from divtools.human_eval.items import read_items
    from divtools.human_eval.server import make_server

    out, key, items = _study(run_dir, tmp_path)
    judgements = tmp_path / "collected" / "judgements.jsonl"
    server, links = make_server(read_items(out), judgements, ["ann1", "ann2"], port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert set(links) == {"ann1", "ann2"} and all(link.startswith("http://127.0.0.1:") for link in links.values())
        browser.get(links["ann1"])
        assert browser.find_element(By.ID, "annotator").text == "ann1"
        _answer_all(browser, items, CHOICES)
        WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "status").text == "saved")
        WebDriverWait(browser, 10).until(
            lambda b: judgements.exists() and len(judgements.read_text().splitlines()) == len(items)
            and json.loads(judgements.read_text().splitlines()[-1]).get("best_story") is not None)
        browser.save_screenshot(str(tmp_path / "served.png"))
        browser.execute_script("localStorage.clear()")
        browser.refresh()  # the browser forgot; the server did not
        assert browser.find_element(By.ID, "progress").text == f"{len(items)} of {len(items)} answered"
        rows = sorted((json.loads(line) for line in judgements.read_text().splitlines()), key=lambda r: r["item_id"])
        assert {r["annotator"] for r in rows} == {"ann1"}
        assert [(r["diverse"], r["best_story"]) for r in rows] == [
            c for _, c in sorted(zip([i["item_id"] for i in items], CHOICES))]
        # a link that is not one of the tokens gets nothing; a bad answer is refused
        import urllib.error
        import urllib.request

        base = links["ann1"].rsplit("/a/", 1)[0]
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + "/a/not-a-token/")
        assert err.value.code == 404
        request = urllib.request.Request(links["ann2"] + "judgement", method="POST",
                                         data=json.dumps({"item_id": items[0]["item_id"], "diverse": "up"}).encode())
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request)
        assert err.value.code == 400
    finally:
        server.shutdown()
        server.server_close()
    # a restarted server keeps the links
    again, links_again = make_server(read_items(out), judgements, ["ann1", "ann2"], port=0)
    again.server_close()
    assert {n: l.rsplit("/a/", 1)[1] for n, l in links_again.items()} == {n: l.rsplit("/a/", 1)[1] for n, l in links.items()}
