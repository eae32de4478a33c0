"""The browsers of the browser tests: Debian's ``chromium`` and ``firefox-esr`` (from apt,
never a browser downloaded by npm), driven with ``puppeteer-core`` (Chromium over CDP,
Firefox over WebDriver BiDi).

:func:`ensure_browsers` installs the two browsers with apt when either is missing, and
:func:`ensure_puppeteer` builds the npm project with :data:`~tests.interop.envs.PUPPETEER`
(cached under ``.run/interop/`` like the interop environments). Whatever cannot be
installed raises with the tool's output: the tests fail, never skip.
:func:`launch_options` gives the ``puppeteer.launch()`` options for either browser, which
keep it off the network except for the pages a test opens.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.interop import envs

CHROMIUM = Path("/usr/bin/chromium")
FIREFOX = Path("/usr/bin/firefox-esr")
# fonts-dejavu-core: the font pages render with (DejaVu Sans, Serif and Mono). apt would
# bring it anyway (fontconfig-config's first choice); named so that it is a known one.
APT_PACKAGES = ("chromium", "firefox-esr", "fonts-dejavu-core")
APT_TIMEOUT = 600.0
LOCK = envs.ROOT / ".run" / "browsers.lock"
# The page size (CSS pixels) of both browsers (but see Firefox ESR 140, below).
VIEWPORT = (1280, 800)


class BrowserSetupError(RuntimeError):
    """A browser or puppeteer-core could not be installed; the message says why."""


@dataclass(frozen=True)
class BrowserSetup:
    """What a browser test runs: a script that imports ``puppeteer`` from ``entry`` and
    launches :data:`CHROMIUM` or :data:`FIREFOX` with :func:`launch_options`."""

    entry: Path

    def launch_options(self, browser: str, profile_dir: Path) -> dict[str, Any]:
        """:func:`launch_options`, for the fixture's users."""
        return launch_options(browser, profile_dir)


def ensure_browsers() -> None:
    """Install :data:`APT_PACKAGES` with apt unless both browsers are there already.

    Runs ``apt-get install`` (as root, else through ``sudo -n``) under a lock file in
    ``.run/`` so that two test sessions do not race, after ``apt-get update``. Raises
    :class:`BrowserSetupError` with the tail of apt's output if the install fails.
    """
    if _browsers_present():
        return
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _browsers_present():  # another session may have installed them
                _apt_install()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if not _browsers_present():
        raise BrowserSetupError(
            f"apt installed {' '.join(APT_PACKAGES)} but {CHROMIUM} or {FIREFOX} is missing"
        )


def ensure_puppeteer() -> Path:
    """Build :data:`~tests.interop.envs.PUPPETEER_ENV` if its stamp does not match the pin;
    the path of its entry module (which exports ``puppeteer``). puppeteer-core downloads
    no browser. Raises :class:`~tests.interop.envs.EnvBuildError` with npm's output."""
    envs.build([envs.PUPPETEER_ENV])
    return envs.PUPPETEER_ENV.path / envs.JS_ENTRY


# On top of the preferences puppeteer and Firefox's remote agent set for automation.
FIREFOX_PREFS: dict[str, Any] = {
    "app.update.enabled": False,
    "app.update.auto": False,
    "app.normandy.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.newtabpage.activity-stream.feeds.telemetry": False,
    "browser.ping-centre.telemetry": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "browser.newtabpage.activity-stream.feeds.topsites": False,
    "browser.newtabpage.activity-stream.showSponsoredTopSites": False,
    "browser.topsites.contile.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.predictor.enabled": False,
    "network.prefetch-next": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "media.gmp-manager.updateEnabled": False,
    "security.OCSP.enabled": 0,
    "security.remote_settings.crlite_filters.enabled": False,
}


def launch_options(browser: str, profile_dir: Path) -> dict[str, Any]:
    """The ``puppeteer.launch()`` options for ``"chromium"`` or ``"firefox"``: headless,
    the system binary, a profile in ``profile_dir`` (created if missing; a fresh one is a
    fresh profile), and no background network use (update checks, safe browsing,
    telemetry, captive-portal probes): the network this runs on refuses those connections.
    """
    profile_dir.mkdir(parents=True, exist_ok=True)
    if browser == "chromium":
        return {
            "browser": "chrome",
            "executablePath": str(CHROMIUM),
            # puppeteer adds --headless=new (Chromium's only headless mode since 132).
            "headless": True,
            "defaultViewport": {"width": VIEWPORT[0], "height": VIEWPORT[1]},
            "args": [
                # Root (as on CI and this project's machines) cannot use the sandbox.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-domain-reliability",
                "--disable-features=NetworkTimeServiceQuerying",
                # Whatever else Chromium still asks for fails at once, without a DNS query:
                # only 127.0.0.1 and localhost (the pages the tests serve) resolve.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                "--no-default-browser-check",
                f"--user-data-dir={profile_dir}",
            ],
        }
    if browser == "firefox":
        return {
            "browser": "firefox",
            "executablePath": str(FIREFOX),
            "headless": True,
            # puppeteer writes its test preferences and these into the profile's user.js.
            "userDataDir": str(profile_dir),
            "extraPrefsFirefox": FIREFOX_PREFS,
            # Emulated by Firefox ESR 153 (bookworm-security's now). ESR 140 lacks the BiDi
            # command emulation.setScreenOrientationOverride that puppeteer 25 sends with
            # it: there Page.setViewport() throws, new pages ignore this (puppeteer logs
            # the error) and keep the headless window's size, set in _firefox_env().
            "defaultViewport": {"width": VIEWPORT[0], "height": VIEWPORT[1]},
            # puppeteer gives Firefox exactly this environment (not its own on top).
            "env": _firefox_env(profile_dir),
        }
    raise ValueError(f"unknown browser {browser!r}: expected 'chromium' or 'firefox'")


def _firefox_env(profile_dir: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # A writable home of its own, whatever the caller's HOME is.
        "HOME": str(profile_dir),
        "LANG": "C.UTF-8",
        # The headless window's size, for Firefox ESR 140 (no viewport emulation there):
        # its pages are the window less the toolbars, 1280 x 714.
        "MOZ_HEADLESS_WIDTH": str(VIEWPORT[0]),
        "MOZ_HEADLESS_HEIGHT": str(VIEWPORT[1]),
        # Mozilla's tests' switch. In a release build it refuses no connection, but
        # remote settings then take puppeteer's dummy server (services.settings.server)
        # instead of downloading from firefox.settings.services.mozilla.com at startup.
        "MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1",
    }
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


def _browsers_present() -> bool:
    return all(os.access(binary, os.X_OK) for binary in (CHROMIUM, FIREFOX))


def _apt_install() -> None:
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif shutil.which("sudo"):
        prefix = ["sudo", "-n"]
    else:
        raise BrowserSetupError(
            f"{CHROMIUM} or {FIREFOX} is missing and installing them needs root (no sudo): "
            f"apt-get install {' '.join(APT_PACKAGES)}"
        )
    apt = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    options = ["-o", "DPkg::Lock::Timeout=300", "-o", "Dpkg::Use-Pty=0"]
    install = [*apt, *options, "install", "-y", "--no-install-recommends", *APT_PACKAGES]
    deadline = time.monotonic() + APT_TIMEOUT
    # Fresh package lists first: stale ones name superseded versions (bookworm's browsers
    # are replaced by security updates), which the mirror no longer serves. A failed
    # update is not fatal by itself: the lists there may still do.
    update = _run([*apt, *options, "update"], deadline)
    result = _run(install, deadline)
    if result.returncode != 0:
        raise BrowserSetupError(_failure(result, update))


def _run(command: list[str], deadline: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            timeout=max(deadline - time.monotonic(), 1.0),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.output if isinstance(exc.output, str) else (exc.output or b"").decode()
        return subprocess.CompletedProcess(command, -1, f"{out}\n(timed out)")


def _failure(
    result: subprocess.CompletedProcess[str], update: subprocess.CompletedProcess[str]
) -> str:
    message = f"could not install the browsers: apt-get install exited {result.returncode}\n"
    message += f"$ {' '.join(result.args)}\n{_tail(result.stdout)}"
    if update.returncode != 0:
        message += f"\n\n(before it, apt-get update exited {update.returncode})\n"
        message += f"$ {' '.join(update.args)}\n{_tail(update.stdout)}"
    return message


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])
