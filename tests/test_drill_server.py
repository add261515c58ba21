"""The drill server: every endpoint for every role, bad commands (422 naming the field), the Host and Origin
checks, the token-for-cookie exchange, the rate limit, the WebSocket, a page with no external request, and a
loopback load test on a real uvicorn (20 WebSocket clients for 10 s: no acknowledged command lost)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import ROOT
from twin.city.build import City
from twin.drill.journal import read_journal
from twin.drill.loopback import free_port, serving
from twin.drill.roles import RateLimit, Role
from twin.drill.server import DrillApp
from twin.drill.session import DrillSession, DrillSetup

SCENARIO = ROOT / "scenarios" / "andorra-flood-drill.yaml"
MSEL = ROOT / "scenarios" / "andorra-flood-drill-msel.csv"
ROLES = ("controller", "police", "power", "water", "health", "shelters", "fire_rescue", "evaluator", "observer")
CLOSE = {"command": "close_road", "target": {"street": "Avinguda de Salou"}}
MESSAGE = {"command": "message", "text": "situation report", "to": "health"}


@pytest.fixture
def drill(andorra_city: City, tmp_path: Path) -> Iterator[tuple[DrillApp, TestClient]]:
    session = DrillSession.start(tmp_path / "d", DrillSetup(SCENARIO, msel=MSEL), city=andorra_city)
    app = DrillApp(session, ["testserver"], tick=False)
    with TestClient(app.app) as client:
        yield app, client
    session.journal.close()


def _as(app: DrillApp, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.tokens.token_of(role)}"}


# (method, path, body) -> the roles allowed; every other role gets 403.
ENDPOINTS = [
    ("GET", "/api/me", None, set(ROLES)),
    ("GET", "/api/state", None, set(ROLES)),
    ("GET", "/api/map", None, set(ROLES)),
    ("GET", "/", None, set(ROLES)),
    ("GET", "/static/drill.js", None, set(ROLES)),
    ("GET", "/api/msel", None, {"controller", "evaluator"}),
    ("GET", "/api/journal", None, {"controller", "evaluator"}),
    ("POST", "/api/command", CLOSE, {"controller", "police", "fire_rescue"}),
    ("POST", "/api/command", MESSAGE, {"controller", "police", "power", "water", "health", "shelters", "fire_rescue"}),
    ("POST", "/api/clock", {"action": "pause"}, {"controller"}),
    ("POST", "/api/inject", {"number": "{n}"}, {"controller"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS)
def test_every_endpoint_for_every_role(
    drill: tuple[DrillApp, TestClient], method: str, path: str, body: dict | None, allowed: set[str]
) -> None:
    app, client = drill
    for number, role in enumerate(ROLES, start=1):
        payload = {"number": str(number)} if body == {"number": "{n}"} else body
        response = client.request(method, path, headers=_as(app, role), json=payload)
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, (role, response.text)
        if expected == 403:
            assert response.json()["error"]  # the reason
    assert client.get(path if method == "GET" else "/api/me").status_code == 403  # no token
    bad = client.get("/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 403 and "unknown token" in bad.json()["error"]


def test_an_acknowledged_command_is_in_the_journal_and_the_engine(drill: tuple[DrillApp, TestClient]) -> None:
    app, client = drill
    ack = client.post("/api/command", headers=_as(app, "police"), json=CLOSE).json()
    entries = read_journal(app.session.folder / "journal.jsonl").entries
    assert entries[ack["seq"]]["payload"] == CLOSE and entries[ack["seq"]]["role"] == "police"
    app.session.control(_controller(app), {"action": "step"})
    app.session.tick()
    assert app.session.model.state.link_closed_event.sum() > 0


def _controller(app: DrillApp) -> Role:
    role = app.tokens.role_of(app.tokens.token_of("controller"))
    assert role is not None
    return role


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"command": "close_road", "target": {"street": "Nowhere at all"}}, ["target"]),
        ({"command": "close_road", "target": {"links": [-1]}}, ["target.links[0]"]),
        ({"command": "close_road", "colour": "red"}, ["colour", "target"]),
        ({"command": "close_road", "target": {"kinds": ["substation"]}}, ["target.kinds"]),
        ({"command": "launch_missiles"}, ["command"]),
        ({"command": "message", "text": "", "to": "mayor"}, ["text", "to"]),
        ({"command": "fail_component", "target": {"name": "ETR d"}, "restore_after": "soon"}, ["restore_after"]),
    ],
)
def test_a_bad_command_is_422_naming_each_field(
    drill: tuple[DrillApp, TestClient], body: dict, fields: list[str]
) -> None:
    app, client = drill
    response = client.post("/api/command", headers=_as(app, "controller"), json=body)
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["problems"]] == fields
    assert all(p["message"] for p in response.json()["problems"])
    assert read_journal(app.session.folder / "journal.jsonl").entries == []  # nothing journaled


def test_bad_clock_and_inject_requests_are_422(drill: tuple[DrillApp, TestClient]) -> None:
    app, client = drill
    head = _as(app, "controller")
    assert (
        client.post("/api/clock", headers=head, json={"action": "speed", "speed": -3}).json()["problems"][0]["field"]
        == "speed"
    )
    assert client.post("/api/clock", headers=head, json={"action": "rewind"}).status_code == 422
    assert client.post("/api/inject", headers=head, json={"number": "99"}).json()["problems"][0]["field"] == "number"
    assert client.post("/api/command", headers=head, content=b"{not json").status_code == 422


def test_a_wrong_host_or_origin_is_refused(drill: tuple[DrillApp, TestClient]) -> None:
    app, client = drill
    head = _as(app, "controller")
    rebound = client.get("/api/me", headers={**head, "Host": "attacker.example:8000"})
    assert rebound.status_code == 403 and "wrong Host" in rebound.json()["error"]
    foreign = client.post("/api/command", headers={**head, "Origin": "http://attacker.example"}, json=MESSAGE)
    assert foreign.status_code == 403 and "attacker.example" in foreign.json()["error"]
    assert client.post("/api/command", headers={**head, "Origin": "http://testserver"}, json=MESSAGE).status_code == 200
    with pytest.raises(Exception), client.websocket_connect("/ws", headers={**head, "Origin": "http://evil.example"}):  # noqa: B017
        pass


def test_the_token_is_swapped_for_a_strict_httponly_cookie(drill: tuple[DrillApp, TestClient]) -> None:
    app, client = drill
    token = app.tokens.token_of("police")
    response = client.get(f"/join?token={token}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and token.lower() in cookie
    page = client.get("/")  # the client keeps the cookie
    assert page.status_code == 200 and "/static/drill.js" in page.text
    assert client.get("/api/me").json()["role"] == "police"
    assert client.get("/join?token=forged", follow_redirects=False).status_code == 403


def test_the_page_makes_no_request_to_another_site() -> None:
    static = ROOT / "twin" / "drill" / "static"
    for path in static.iterdir():
        assert not re.search(r"https?://", path.read_text(encoding="utf-8")), path.name


def test_requests_are_rate_limited_per_token(andorra_city: City, tmp_path: Path) -> None:
    session = DrillSession.start(tmp_path / "d", DrillSetup(SCENARIO), city=andorra_city)
    app = DrillApp(session, ["testserver"], rate=RateLimit(rate=0.001, burst=3), tick=False)
    with TestClient(app.app) as client:
        codes = [client.get("/api/me", headers=_as(app, "observer")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/api/me", headers=_as(app, "observer"))
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get("/api/me", headers=_as(app, "police")).status_code == 200  # another token
    session.journal.close()


def test_the_websocket_pushes_deltas_and_answers_commands(drill: tuple[DrillApp, TestClient]) -> None:
    app, client = drill
    with client.websocket_connect("/ws", headers=_as(app, "police")) as ws:
        first = ws.receive_json()
        assert first["type"] == "delta" and first["clock"]["paused"] and first["series"]
        ws.send_text(json.dumps({"id": 7, "type": "command", "payload": CLOSE}))
        ack = ws.receive_json()
        while ack["type"] == "delta":
            ack = ws.receive_json()
        assert ack == {"type": "ack", "id": 7, "ok": True, "seq": 0, "step": 0, "t_s": 0.0}
        ws.send_text(json.dumps({"id": 8, "type": "clock", "payload": {"action": "start"}}))
        refused = ws.receive_json()
        while refused["type"] == "delta":
            refused = ws.receive_json()
        assert refused["status"] == 403 and refused["id"] == 8


def test_load_on_loopback_loses_no_command(andorra_city: City, tmp_path: Path) -> None:
    """20 WebSocket clients for 10 s at 60x, 10 of them sending commands: journal count = acknowledged."""
    import websockets

    session = DrillSession.start(tmp_path / "d", DrillSetup(SCENARIO, msel=MSEL, speed=60), city=andorra_city)
    port = free_port()
    desks = ["police", "power", "water", "health", "shelters", "fire_rescue", "evaluator", "observer"]

    async def client(app: DrillApp, index: int, acks: list[int], deltas: list[int]) -> None:
        role = "controller" if index == 0 else desks[index % len(desks)]
        head = {"Authorization": f"Bearer {app.tokens.token_of(role)}", "Origin": f"http://127.0.0.1:{port}"}
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", additional_headers=head) as ws:
            if index == 0:
                await ws.send(json.dumps({"id": "start", "type": "clock", "payload": {"action": "start"}}))
            sends = index < 10 and role not in ("evaluator", "observer")
            end, sent, answered = time.monotonic() + 10, 0, 0
            while time.monotonic() < end or answered < sent:  # then wait for the answer to every command sent
                if sends and time.monotonic() < end:
                    payload = {"command": "message", "text": f"client {index} message {sent}"}
                    await ws.send(json.dumps({"id": sent, "type": "command", "payload": payload}))
                    sent += 1
                try:
                    reply = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except TimeoutError:
                    continue
                if reply["type"] == "delta":
                    deltas.append(index)
                elif isinstance(reply["id"], int):
                    answered += 1
                    if reply["type"] == "ack":
                        acks.append(reply["seq"])

    async def main(app: DrillApp) -> tuple[list[int], list[int]]:
        acks: list[int] = []
        deltas: list[int] = []
        await asyncio.gather(*(client(app, i, acks, deltas) for i in range(20)))
        return acks, deltas

    with serving(session, port) as app:
        acks, deltas = asyncio.run(main(app))
    commands = [e for e in read_journal(session.folder / "journal.jsonl").entries if e["type"] == "command"]
    assert len(acks) > 100 and len(commands) == len(acks) == len(set(acks))
    assert {e["seq"] for e in commands} == set(acks)
    assert set(deltas) == set(range(20))  # every client was pushed updates
    assert session.model.clock_s > 0  # the engine ran on the clock meanwhile
    session.journal.close()
