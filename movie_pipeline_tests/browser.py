"""Drive Debian's headless Chromium: the rendered DOM of a page, or a screenshot of it.

Every launch gets a throwaway profile and the flags that keep Chromium off the network
(no background updates, sync or QUIC), so a test sees only what the page itself loads.
"""

import subprocess
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_TIMEOUT_SECONDS = 60
QUIET_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserMissingError(RuntimeError):
    pass


def _run_chromium(url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        raise BrowserMissingError(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`.")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [str(CHROMIUM), *QUIET_FLAGS, f"--user-data-dir={profile}", *flags, url]
        result = subprocess.run(command, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited with {result.returncode} for {url}: {result.stderr[-2000:]}")
    return result


def page_url(path: Path) -> str:
    return path.resolve().as_uri()


def dump_dom(path: Path) -> str:
    """The DOM after Chromium has loaded and laid out the local file `path`."""
    return _run_chromium(page_url(path), "--dump-dom").stdout


def screenshot(path: Path, png: Path, *, width: int = 1280, height: int = 3000) -> Path:
    _run_chromium(
        page_url(path), f"--screenshot={png.resolve()}", f"--window-size={width},{height}", "--hide-scrollbars"
    )
    if not png.exists():
        raise RuntimeError(f"chromium did not write the screenshot {png}")
    return png
