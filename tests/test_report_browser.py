"""The report in a real browser: headless Chromium (Debian's ``chromium``), network blocked, started by the test.

The page is loaded twice: once instrumented with a probe script (added to a copy by the test, never to the report)
that records every resource the page fetched, every load error and where each picture is drawn, read back with
``--dump-dom``; once as it is, for a screenshot in which each picture's area must be drawn (not blank).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.report_runs import make_run
from twin.report.html_report import write_report

SECTIONS = ("sec-run", "sec-headline", "sec-curves", "sec-maps", "sec-timeline", "sec-properties")
WIDTH = 1000
#: Isolated, offline Chromium: no sandbox (root in CI), no GPU, no background traffic, every host unresolvable
#: and every proxied request sent to a closed port.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
EARLY_PROBE = """<script>window.__fails=[];addEventListener('error',function(e){var t=e.target||{};
window.__fails.push(String(t.src||t.href||e.message));},true);</script>"""
LATE_PROBE = """<script>addEventListener('load',function(){document.fonts.ready.then(function(){
var fonts=[];document.fonts.forEach(function(f){fonts.push(f.family.replace(/"/g,'')+' '+f.status);});
var imgs=[].map.call(document.images,function(i){var r=i.getBoundingClientRect();
return {ok:i.complete&&i.naturalWidth>0,x:r.left+scrollX,y:r.top+scrollY,w:r.width,h:r.height};});
var p=document.createElement('pre');p.id='probe';p.textContent=JSON.stringify({imgs:imgs,
resources:performance.getEntriesByType('resource').map(function(r){return r.name;}),fails:window.__fails,
fonts:fonts,
height:document.documentElement.scrollHeight,
sections:[].map.call(document.querySelectorAll('section'),function(s){return s.id;})});
document.body.appendChild(p);});});</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get where apt is available)")
    return path


def _run_chromium(chromium: str, profile: Path, *args: str) -> str:
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def probe(chromium: str, page: Path, tmp_path: Path) -> dict[str, Any]:
    """Load an instrumented copy of ``page`` and return what the probe recorded."""
    text = page.read_text(encoding="utf-8")
    copy = page.with_name(f"probed-{page.name}")
    copy.write_text(text.replace("<head>", "<head>" + EARLY_PROBE).replace("</body>", LATE_PROBE + "</body>"))
    dom = _run_chromium(
        chromium,
        tmp_path / "profile-probe",
        f"--window-size={WIDTH},900",
        "--virtual-time-budget=20000",
        "--dump-dom",
        copy.as_uri(),
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found is not None, "the page did not finish loading"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def screenshot(chromium: str, page: Path, height: int, tmp_path: Path) -> np.ndarray:
    """A screenshot of the whole page as an RGB array."""
    out = tmp_path / f"{page.stem}.png"
    _run_chromium(
        chromium, tmp_path / "profile-shot", f"--window-size={WIDTH},{height}", f"--screenshot={out}", page.as_uri()
    )
    return np.asarray(Image.open(out).convert("RGB"))


def _drawn(region: np.ndarray) -> bool:
    """A picture is drawn when a good share of its pixels is neither white nor one flat colour."""
    not_white = (region < 235).any(axis=2).mean()
    return bool(not_white > 0.03 and region.reshape(-1, 3).std(axis=0).max() > 20)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("browser") / "flood")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_renders_offline_with_every_section_and_picture(
    chromium: str, run_folder: Path, tmp_path: Path, lang: str
) -> None:
    page = write_report(run_folder, tmp_path / f"report-{lang}.html", lang)
    found = probe(chromium, page, tmp_path)
    assert found["resources"] == [] and found["fails"] == []  # nothing fetched, nothing failed
    assert found["sections"] == list(SECTIONS)
    assert len(found["imgs"]) == 3 and all(img["ok"] for img in found["imgs"])
    if lang == "zh":
        assert "twin-cjk loaded" in found["fonts"]
    shot = screenshot(chromium, page, int(found["height"]), tmp_path)
    assert _drawn(shot)
    for img in found["imgs"]:
        x, y, w, h = (round(img[k]) for k in ("x", "y", "w", "h"))
        assert w > 100 and h > 100
        assert _drawn(shot[y : y + h, x : x + w]), f"picture at y={y} is blank"


def test_blank_detector_can_fail() -> None:
    assert not _drawn(np.full((50, 50, 3), 255, dtype=np.uint8))
    assert not _drawn(np.full((50, 50, 3), 90, dtype=np.uint8))
