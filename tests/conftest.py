"""Test-wide settings: never reach a model hub, never print plugin warnings twice."""

from __future__ import annotations

import os
import tempfile

# One accidental hub lookup costs about a minute here and fails; offline mode fails in 0.01 s.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")


# ---------------------------------------------------------------- a real headless browser
import shutil  # noqa: E402

import pytest  # noqa: E402

CHROMIUM = os.environ.get("DIVTOOLS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DIVTOOLS_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path_factory):
    """A headless Chromium driven by Selenium (Debian's ``chromium`` and ``chromium-driver``);
    the test is skipped, saying why, when they are not installed (it fails instead when
    ``DIVTOOLS_REQUIRE_BROWSER`` is set, as CI does). Local files and 127.0.0.1 only."""
    if not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)) or not os.path.exists(CHROMEDRIVER):
        why = f"no Chromium here ({CHROMIUM}, {CHROMEDRIVER}): apt-get install chromium chromium-driver"
        if os.environ.get("DIVTOOLS_REQUIRE_BROWSER"):  # CI: a missing browser is a failure, not a skip
            pytest.fail(why)
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--allow-file-access-from-files",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
# Caches (embeddings, shared reference log-probs) never go to the user's ~/.cache during tests;
# test folders that need an empty cache per test still set their own.
os.environ.setdefault("DIVTOOLS_CACHE", tempfile.mkdtemp(prefix="divtools-test-cache-"))
