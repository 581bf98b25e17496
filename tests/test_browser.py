"""Headless Chromium opens a study's journal entry and the index of runs: every image loads,
no console error, no request leaves the page's own file, and a phone-width screen shows it
without sideways scrolling. Skips where Chromium is not installed (`.ci/run` installs it)."""

from __future__ import annotations

import base64

import pytest
from browser import Browser, find_chromium

from nnjournal.experiment import run

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium; .ci/run does it)"
)

TINY_STUDY = [
    "study.seeds=1",
    "study.epochs=3",
    'study.techniques=["none", "l1", "l2", "dropout", "batchnorm"]',
]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    result = run("regularization-demo", TINY_STUDY, out=out)
    return result.run_dir / "report.html", out / "index.html"


@pytest.fixture(scope="module")
def browser():
    b = Browser(CHROMIUM)
    yield b
    b.close()


def _open(browser: Browser, url: str) -> tuple[str, list[dict]]:
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
        session=session,
    )
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_for("Page.loadEventFired")
    return session, browser.events


def _check_page(browser: Browser, path, tmp_path, min_images: int) -> None:
    session, events = _open(browser, path.as_uri())
    images = browser.send(
        "Runtime.evaluate",
        {
            "expression": "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])",
            "returnByValue": True,
        },
        session=session,
    )["result"]["value"]
    assert len(images) >= min_images, (
        f"{path.name}: expected at least {min_images} images, found {len(images)}"
    )
    broken = [alt for alt, complete, width in images if not complete or width == 0]
    assert not broken, f"{path.name}: images that did not load: {broken}"

    overflow = browser.send(
        "Runtime.evaluate",
        {"expression": "document.documentElement.scrollWidth - window.innerWidth", "returnByValue": True},
        session=session,
    )["result"]["value"]
    assert overflow <= 0, f"{path.name}: {overflow}px wider than a 390px phone screen"

    shot = base64.b64decode(
        browser.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
    )
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 5000
    (tmp_path / f"{path.stem}.png").write_bytes(shot)

    errors = [
        e
        for e in events
        if e.get("method") in ("Runtime.exceptionThrown",)
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]
    assert not errors, f"{path.name}: console errors: {errors}"
    requests = [
        e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"
    ]
    external = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not external, f"{path.name}: external requests: {external}"


def test_study_report_renders_in_chromium(browser, pages, tmp_path):
    report, _ = pages
    _check_page(browser, report, tmp_path, min_images=3)


def test_index_renders_and_links_the_study(browser, pages, tmp_path):
    report, index = pages
    assert f"{report.parent.name}/report.html" in index.read_text()
    _check_page(browser, index, tmp_path, min_images=0)
