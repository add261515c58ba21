"""The control room in a real browser: headless Chromium (Debian's ``chromium``) driven through the Chrome
DevTools protocol opens the police desk's link, sends a road closure through the page's form, and sees it in the
feed and on the map, with the crews and shelters layers; the controller's page is then captured for the README
(docs/drill-control-room.png)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from twin.city.build import City
from twin.drill.loopback import free_port, serving
from twin.drill.server import DrillApp
from twin.drill.session import DrillSession, DrillSetup

SCENARIO = ROOT / "scenarios" / "andorra-flood-drill.yaml"
MSEL = ROOT / "scenarios" / "andorra-flood-drill-msel.csv"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--window-size=1400,900")  # fmt: skip


class Page:
    """One tab, driven over the DevTools WebSocket."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.next = ws, 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next += 1
        await self.ws.send(json.dumps({"id": self.next, "method": method, "params": params}))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.next:
                return dict(reply.get("result", {}))

    async def value(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout_s: float = 60) -> Any:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            value = await self.value(expression)
            if value:
                return value
            await asyncio.sleep(0.2)
        raise AssertionError(f"the page never satisfied {expression}")


async def _open(debug_port: int, url: str) -> tuple[Any, Page]:
    import websockets

    async with httpx.AsyncClient() as client:
        tabs: list[dict[str, Any]] = []
        end = time.monotonic() + 120  # Chromium can take a while to start on a loaded machine
        while not tabs and time.monotonic() < end:
            try:
                tabs = (await client.get(f"http://127.0.0.1:{debug_port}/json/list")).json()
            except httpx.TransportError:
                await asyncio.sleep(0.2)
        tab = next(t for t in tabs if t["type"] == "page")
    ws = await websockets.connect(tab["webSocketDebuggerUrl"], max_size=None)
    page = Page(ws)
    await page.call("Page.enable")
    await page.call("Page.navigate", url=url)
    return ws, page


@pytest.mark.slow
def test_a_player_closes_a_road_from_the_page_and_sees_it(andorra_city: City, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make browser installs it where apt-get is available)")
    session = DrillSession.start(tmp_path / "d", DrillSetup(SCENARIO, msel=MSEL), city=andorra_city)
    port, debug_port = free_port(), free_port()
    try:
        with serving(session, port) as app:
            browser = subprocess.Popen(
                [chromium, *FLAGS, f"--remote-debugging-port={debug_port}", f"--user-data-dir={tmp_path / 'profile'}",
                 "about:blank"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                asyncio.run(_drive(debug_port, f"http://127.0.0.1:{port}", app, tmp_path / "control-room.png"))
            finally:
                browser.kill()
                browser.wait(30)
    finally:
        session.journal.close()
    commands = [e for e in session.entries if e["type"] == "command"]
    assert commands[0]["role"] == "police" and commands[0]["payload"]["target"] == {"street": "Avinguda de Salou"}
    # right-clicked on the controller's map: the component picked at the first substation failed (a transformer
    # may sit on the same pixel), the first shelter closed
    assert commands[1]["role"] == "controller" and commands[1]["payload"]["command"] == "fail_component"
    (picked,) = commands[1]["payload"]["target"]["components"]
    assert andorra_city.facilities["group"].iloc[picked] == "power"
    shelter = str(session.view.shelter_names[0]) if session.view else ""
    assert commands[2]["payload"] == {"command": "close_shelter", "shelter": shelter}


def _right_click(kind: str, index: str) -> str:
    """JavaScript: right-click the map on a component or shelter (``index``: an expression), and say which
    commands the menu offers."""
    where = "S.shelters[i]" if kind == "shelter" else "[S.map.components.x[i], S.map.components.y[i]]"
    return (
        f"(() => {{ const i = {index}, c = document.getElementById('map'), r = c.getBoundingClientRect();"
        f" const [x, y] = px(...{where}.slice(0, 2));"
        " c.dispatchEvent(new MouseEvent('contextmenu', {clientX: r.left + x, clientY: r.top + y, bubbles: true,"
        " cancelable: true}));"
        " return [...document.querySelectorAll('#pickmenu button')].map(b => b.dataset.command).join(','); })()"
    )


async def _drive(debug_port: int, base: str, app: DrillApp, shot_path: Path) -> None:
    ws, page = await _open(debug_port, f"{base}/join?token={app.tokens.token_of('police')}")
    try:
        assert await page.wait_for(
            "location.pathname === '/' && !!document.querySelector('form[data-command=close_road]')"
        )
        assert await page.value("location.search") == ""  # the token left the address bar
        await page.value(
            "(() => { const f = document.querySelector('form[data-command=close_road]');"
            " f.querySelector('input[name=target]').value = 'street=Avinguda de Salou'; f.requestSubmit(); })()"
        )
        assert "sent" in await page.wait_for("document.getElementById('answer').textContent")
        control = {"Authorization": f"Bearer {app.tokens.token_of('controller')}", "Origin": base}
        async with httpx.AsyncClient(base_url=base) as client:  # the controller steps the engine once
            assert (await client.post("/api/clock", headers=control, json={"action": "step"})).status_code == 200
        assert await page.wait_for("S.closed.size > 0")  # the map's closed roads (drawn in red)
        feed = await page.wait_for("[...document.querySelectorAll('#feed li')].map(li => li.textContent).join('|')")
        assert "police: close_road" in feed and "close_link" in feed
        # the map's layers: every crew (free at its base) and every shelter (people inside / places)
        assert await page.wait_for("Object.keys(S.crews).length > 0 && Object.keys(S.shelters).length > 0")
        substation = "S.map.components.kind.indexOf('substation')"
        assert await page.value(_right_click("component", substation)) == ""  # police: no command for it
        assert "no command of this role applies" in await page.value("document.getElementById('pickmenu').textContent")
        await page.call("Page.navigate", url=f"{base}/join?token={app.tokens.token_of('controller')}")
        await page.wait_for("!!document.querySelector('#msel tr') && S.series.length > 0")
        await page.wait_for("Object.keys(S.shelters).length > 0")
        assert await page.value(_right_click("component", substation)) == "fail_component"
        assert "(component " in await page.value("document.querySelector('#pickmenu .what').textContent")
        await page.value("document.querySelector('#pickmenu button[data-command=fail_component]').click()")
        await page.wait_for("document.getElementById('answer').textContent.startsWith('sent (#')")
        await page.wait_for("S.feed.some(f => f.text.includes('fail_component'))")
        assert await page.value(_right_click("shelter", "0")) == "close_shelter"
        await page.value("document.querySelector('#pickmenu button[data-command=close_shelter]').click()")
        await page.wait_for("document.getElementById('answer').textContent.startsWith('sent (#')")
        if os.environ.get("TWIN_DRILL_SCREENSHOT"):  # the README's picture: two hours into the drill
            shot_path = ROOT / "docs" / "drill-control-room.png"
            async with httpx.AsyncClient(base_url=base) as client:
                await client.post("/api/clock", headers=control, json={"action": "speed", "speed": 3600})
                await client.post("/api/clock", headers=control, json={"action": "start"})
                await page.wait_for("S.clock.sim_s > 7200", timeout_s=120)
                await client.post("/api/clock", headers=control, json={"action": "pause"})
                await page.wait_for("S.clock.behind_s === 0", timeout_s=300)  # the engine catches up
        await asyncio.sleep(0.5)
        shot = await page.call("Page.captureScreenshot", format="png")
        shot_path.write_bytes(base64.b64decode(shot["data"]))
        assert shot_path.stat().st_size > 10_000  # a drawn page, not a blank one
    finally:
        await ws.close()
