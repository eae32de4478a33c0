"""Browser tests: the system's Chromium and Firefox ESR, driven with puppeteer-core."""
