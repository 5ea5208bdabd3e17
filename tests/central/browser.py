"""Headless Debian Chromium through Selenium and the Debian chromedriver (nothing is downloaded)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1360,1000",
         "--no-first-run", "--disable-extensions", "--lang=en-US")


def start_chromium():
    """A fresh headless Chromium with its own profile; skips when the Debian packages are missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (central extra)")
    from selenium.webdriver.chrome.service import Service
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("Debian chromium and chromium-driver are not installed (edge/scripts/system-deps.sh)")
    profile = tempfile.mkdtemp(prefix="lg-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.implicitly_wait(0)
    driver._lg_profile = profile           # removed by stop_chromium
    return driver


def stop_chromium(driver) -> None:
    driver.quit()
    shutil.rmtree(driver._lg_profile, ignore_errors=True)
