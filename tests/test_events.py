"""The event queue: ids, priorities among events due at the same time, cancel, peek, and checkpoints of it all."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.conftest import ROOT, scenario_of
from twin.city.build import City
from twin.errors import ScenarioError
from twin.scenario import Scenario
from twin.sim.events import DEFAULT_PRIORITY, Event, EventQueue
from twin.sim.model import CityModel


def _message(t_s: float, text: str, priority: int = DEFAULT_PRIORITY) -> Event:
    return Event(t_s=t_s, kind="message", params={"text": text}, priority=priority)


def _texts(events: list[Event]) -> list[str]:
    return [e.params["text"] for e in events]


def test_push_gives_ids_in_insertion_order() -> None:
    queue = EventQueue()
    assert _message(1, "a").id == -1 and _message(1, "a").priority == 0
    ids = [queue.push(_message(t, str(t))).id for t in (30.0, 10.0, 20.0)]
    assert ids == [0, 1, 2] and queue.counter == 3


def test_order_is_time_then_priority_then_insertion() -> None:
    queue = EventQueue()
    queue.push(_message(60, "late"))
    queue.push(_message(30, "default, first pushed"))
    queue.push(_message(30, "low priority", priority=5))
    queue.push(_message(30, "urgent", priority=-1))
    queue.push(_message(30, "default, second pushed"))
    queue.push(_message(45, "urgent but later", priority=-9))
    assert _texts(queue.pop_due(100)) == [
        "urgent",
        "default, first pushed",
        "default, second pushed",
        "low priority",
        "urgent but later",
        "late",
    ]


def test_peek_shows_the_next_event_and_leaves_it() -> None:
    queue = EventQueue()
    assert queue.peek() is None
    queue.push(_message(20, "b"))
    queue.push(_message(20, "a", priority=-1))
    peeked = queue.peek()
    assert peeked is not None and peeked.params["text"] == "a" and len(queue) == 2
    assert _texts(queue.pop_due(20)) == ["a", "b"]


def test_cancel_removes_one_pending_event_and_keeps_the_order_of_the_rest() -> None:
    rng = random.Random(4)
    queue = EventQueue()
    pushed = [queue.push(_message(float(rng.randrange(10)), f"e{i}", rng.randrange(-2, 3))) for i in range(40)]
    cancelled = {3, 17, 0, 39, 25}
    for event_id in sorted(cancelled):
        removed = queue.cancel(event_id)
        assert removed is not None and removed.id == event_id
    assert queue.cancel(17) is None and queue.cancel(1000) is None
    expected = sorted((e for e in pushed if e.id not in cancelled), key=lambda e: (e.t_s, e.priority, e.id))
    assert queue.pop_due(100) == expected
    assert queue.cancel(5) is None  # fired already


def test_the_queue_saved_and_rebuilt_keeps_ids_priorities_and_counter() -> None:
    queue = EventQueue()
    for t, p in ((50, 0), (10, 2), (10, -3), (70, 1)):
        queue.push(_message(t, f"{t}/{p}", p))
    queue.cancel(0)
    again = EventQueue.from_list(queue.to_list(), queue.counter)
    assert again.to_list() == queue.to_list()
    assert again.push(_message(10, "new")).id == 4
    assert _texts(again.pop_due(100)) == ["10/-3", "new", "10/2", "70/1"]


# --- in the engine -------------------------------------------------------------------------------------------


def _scenario(tmp_path: Path) -> Scenario:
    data = {
        "name": "test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T06:00",
        "duration": "20min",
        "step": "60s",
        "seed": 3,
    }
    return scenario_of(tmp_path, data)


def test_a_cancelled_inject_never_fires(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path))
    model.run(until_s=300)
    event = model.inject("close_link", target={"bridges_over": "valira"})
    kept = model.inject("message", text="kept")
    assert event.id >= 0 and kept.id == event.id + 1
    assert model.queue.cancel(event.id) == event
    model.run()
    log = model.recorder.events_table()
    assert log["kind"].tolist() == ["message"] and model.recorder.latest("links_closed") == 0


def test_priorities_survive_a_checkpoint(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path)
    model = CityModel(andorra_city, spec)
    for text, priority in (("third", 2), ("first", -1), ("second", 0)):
        model.schedule(Event(t_s=600, kind="message", params={"text": text}, priority=priority))
    model.run(until_s=300)
    model.checkpoint(tmp_path / "c.npz")
    restored = CityModel.restore(tmp_path / "c.npz", andorra_city, spec)
    assert restored.queue.to_list() == model.queue.to_list()
    restored.run()
    log = restored.recorder.events_table()
    texts = [json.loads(details)["text"] for details in log.loc[log["kind"] == "message", "details"]]
    assert texts == ["first", "second", "third"]


def test_a_priority_that_is_not_a_whole_number_is_refused(andorra_city: City, tmp_path: Path) -> None:
    model = CityModel(andorra_city, _scenario(tmp_path))
    with pytest.raises(ScenarioError, match="priority: must be a whole number, got 'high'"):
        model.schedule(Event(t_s=60, kind="message", priority="high", source="drill"))
