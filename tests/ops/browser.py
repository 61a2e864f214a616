"""A real browser on the Prefect UI: Debian's chromium, headless, renders a page (its scripts run and call the
API the server told them about) and gives back the text a person would read, with a screenshot."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As root (CI) chromium needs --no-sandbox; a container's small /dev/shm needs --disable-dev-shm-usage.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100"]
RENDER_BUDGET_MS = 20000  # virtual time the page's scripts get to load their data (network waits do not count)


def rendered_page(url: str, screenshot: Path) -> tuple[str, str]:
    """(the page's DOM after its scripts ran, its visible text), and its screenshot saved at `screenshot`."""
    assert CHROMIUM, "chromium is not installed: `make setup` installs it (Debian's `chromium` package)"
    budget = f"--virtual-time-budget={RENDER_BUDGET_MS}"
    # One rendering gives both (new headless mode): the DOM on stdout, the screenshot in its file.
    page = [CHROMIUM, *FLAGS, budget, "--dump-dom", f"--screenshot={screenshot}", url]
    dom = subprocess.run(page, capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and screenshot.exists(), dom.stderr[-2000:]
    return dom.stdout, visible_text(dom.stdout)


def visible_text(page: str) -> str:
    without_code = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without_code)))
