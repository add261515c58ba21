"""Drill server under load on loopback: WebSocket clients for a while, some sending commands, on a real uvicorn.

Each commanding client sends a ``message`` command, waits for its answer and sends the next after ``--pause``;
the command latency is the wall time from send to acknowledgement (journal fsync included). Every client
records the clock's ``behind_s`` from the deltas it is pushed (how far the engine lags the clock beyond its one
step). At the end the journal's command count must equal the acknowledged commands.

Run (by hand, not in CI): ``python benchmarks/drill_load.py --clients 50 --commanders 10 --seconds 600``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from twin.drill.journal import read_journal
from twin.drill.loopback import free_port, serving
from twin.drill.server import DrillApp
from twin.drill.session import DrillSession, DrillSetup

ROOT = Path(__file__).resolve().parents[1]
DESKS = ("police", "power", "water", "health", "shelters", "fire_rescue")


async def _client(index: int, args: argparse.Namespace, port: int, app: DrillApp, out: dict[str, list[float]]) -> int:
    role = "controller" if index == 0 else (DESKS[index % len(DESKS)] if index < args.commanders else "observer")
    head = {"Authorization": f"Bearer {app.tokens.token_of(role)}", "Origin": f"http://127.0.0.1:{port}"}
    import websockets

    acked = 0
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", additional_headers=head, max_size=None) as ws:
        if index == 0:
            await ws.send(json.dumps({"id": "start", "type": "clock", "payload": {"action": "start"}}))
        end, sent_at, number = time.monotonic() + args.seconds, None, 0
        while time.monotonic() < end or sent_at is not None:
            if index < args.commanders and sent_at is None and time.monotonic() < end:
                payload = {"command": "message", "text": f"client {index} #{number}"}
                await ws.send(json.dumps({"id": number, "type": "command", "payload": payload}))
                sent_at = time.perf_counter()
            try:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
            except TimeoutError:
                continue
            if reply["type"] == "delta" and "clock" in reply:
                out["behind"].append(reply["clock"]["behind_s"])
            elif reply.get("id") == number and sent_at is not None:
                out["latency"].append(time.perf_counter() - sent_at)
                acked += reply["type"] == "ack"
                sent_at, number = None, number + 1
                await asyncio.sleep(args.pause)
    return acked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--commanders", type=int, default=10, help="clients that send commands (controller first)")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument(
        "--scenario", type=Path, default=ROOT / "scenarios" / "andorra-flood-drill.yaml", help="the drill's scenario"
    )
    parser.add_argument("--pause", type=float, default=0.5, help="wall seconds between a client's commands")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="drill-load-")) / "drill"
    setup = DrillSetup(args.scenario, speed=args.speed)
    session = DrillSession.start(folder, setup)
    port = free_port()
    out: dict[str, list[float]] = {"latency": [], "behind": []}
    with serving(session, port) as app:

        async def run() -> list[int]:
            return await asyncio.gather(*(_client(i, args, port, app, out) for i in range(args.clients)))

        acked = sum(asyncio.run(run()))
    journaled = sum(e["type"] == "command" for e in read_journal(folder / "journal.jsonl").entries)
    latency = np.array(out["latency"]) * 1000
    behind = np.array(out["behind"] or [0.0])
    print(f"{args.scenario.name}: {args.clients} WebSocket clients, {args.commanders} sending, {args.seconds:g} s at "
          f"{args.speed:g}x")  # fmt: skip
    print(f"commands acknowledged {acked}, journaled {journaled}: {'none lost' if acked == journaled else 'LOST'}")
    print(f"command latency p50 {np.percentile(latency, 50):.1f} ms, p99 {np.percentile(latency, 99):.1f} ms")
    print(f"engine behind the clock: p99 {np.percentile(behind, 99):.1f} s, max {behind.max():.1f} s (simulated)")
    print(f"simulated time reached {session.model.clock_s / 60:.0f} min")
    session.journal.close()
    return 0 if acked == journaled else 1


if __name__ == "__main__":
    sys.exit(main())
