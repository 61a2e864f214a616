"""A real browser on the Prefect UI: Debian's chromium, headless, renders a page (its scripts run and call the
API the server told them about) and gives back the text a person would read, with a screenshot; or, driven over
its DevTools protocol, clicks a button on the page as a person would and reads what opens."""

from __future__ import annotations

import base64
import html
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

from ecg_core.ports import free_port
from tests.ops.waits import wait_for

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


def text_after_click(url: str, button: str, shows: str, screenshot: Path, timeout_s: float = 90) -> str:
    """The visible text of the page at `url` once a person clicked its button labelled `button` and `shows`
    appeared (a form in a dialog, say), with a screenshot of that moment."""
    from websockets.sync.client import connect

    assert CHROMIUM, "chromium is not installed: `make setup` installs it (Debian's `chromium` package)"
    port = free_port()
    profile = screenshot.parent / "chromium-profile"  # beside the screenshot: its helpers write there to the end
    browser = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # chromium and its helper processes, stopped together
    )
    try:
        wait_for(lambda: _page_socket(port), timeout_s, "chromium's DevTools endpoint")
        with connect(_page_socket(port), max_size=None) as socket:
            ids = itertools.count(1)

            def call(method: str, **params) -> dict:
                sent = next(ids)
                socket.send(json.dumps({"id": sent, "method": method, "params": params}))
                while (reply := json.loads(socket.recv()))["id" if "id" in reply else "method"] != sent:
                    pass  # events, and replies to nothing we wait for
                return reply.get("result", {})

            def evaluate(expression: str):
                return call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

            call("Page.navigate", url=url)
            buttons = "[...document.querySelectorAll('button')]"
            labelled = f"{buttons}.find(b => b.innerText.trim() === {json.dumps(button)})"
            wait_for(lambda: evaluate(f"!!{labelled}"), timeout_s, f"a {button!r} button on {url}")
            evaluate(f"{labelled}.click()")
            wait_for(lambda: shows in evaluate("document.body.innerText"), timeout_s, f"{shows!r} after the click")
            screenshot.write_bytes(base64.b64decode(call("Page.captureScreenshot")["data"]))
            return " ".join(evaluate("document.body.innerText").split())
    finally:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait()


def _page_socket(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as reply:
            return next((t["webSocketDebuggerUrl"] for t in json.load(reply) if t["type"] == "page"), None)
    except OSError:
        return None
