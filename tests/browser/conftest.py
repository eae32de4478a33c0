"""Browser fixtures: the system browsers and puppeteer-core, installed once per session."""

from __future__ import annotations

import pytest

from tests.browser.browsers import BrowserSetup, ensure_browsers, ensure_puppeteer

__all__ = ["BrowserSetup", "browser_setup"]

# apt (first run only: about 15 s here, longer on a slow mirror) and npm (about 2 s) run
# inside whichever test first asks for browser_setup: that test gets the time they take.
SETUP_TIMEOUT = 900


@pytest.fixture(scope="session")
def browser_setup() -> BrowserSetup:
    """Chromium and Firefox ESR from apt and the npm project with puppeteer-core, installed
    if missing (a failed install raises: the tests that need them error, none is skipped)."""
    ensure_browsers()
    return BrowserSetup(entry=ensure_puppeteer())
