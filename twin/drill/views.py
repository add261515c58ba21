"""What a page is sent: the map once, then a snapshot and deltas of the drill as the role may see it.

The map comes from the City's own geometry (drivable links and waterways, in the map's metric CRS, relative
to the south-west corner and rounded to the metre; lifeline components as points), so the page needs no tile
server and no request leaves the machine. Each open page has a :class:`ClientView` that remembers what it
was sent and sends only what changed: links closed or reopened, components down or back, crews that moved or
changed status, shelters whose occupancy changed, new rows of the time series, new feed lines, and the clock.

Pages never read the engine while it steps (it steps in a worker thread): the views are built from the
:class:`~twin.drill.layers.EngineView` the session publishes after each step.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from twin.drill.layers import CREW_STATUS, CrewRow, ShelterRow

if TYPE_CHECKING:
    from twin.city.build import City
    from twin.drill.roles import Role
    from twin.drill.session import DrillSession


def map_document(city: City) -> dict[str, Any]:
    """Roads, rivers and components as flat integer coordinates (m) relative to the map's south-west corner."""
    links = shapely.from_wkb(city.drive.links["geometry"].to_numpy())
    waters = shapely.from_wkb(city.waterways["geometry"].to_numpy())
    facilities = city.facilities
    bounds = shapely.total_bounds(links)
    x0, y0 = float(bounds[0]), float(bounds[1])
    return {
        "name": city.name,
        "crs": str(city.crs),
        "size_m": [round(float(bounds[2]) - x0), round(float(bounds[3]) - y0)],
        "roads": _lines(links, x0, y0),
        "road_class": city.drive.links["highway"].astype(str).tolist(),
        "road_names": city.drive.links["name"].fillna("").astype(str).tolist(),
        "rivers": _lines(waters, x0, y0),
        "crew_status": list(CREW_STATUS),
        "river_kind": city.waterways["kind"].astype(str).tolist(),
        "components": {
            "x": np.round(facilities["x"].to_numpy() - x0).astype(int).tolist(),
            "y": np.round(facilities["y"].to_numpy() - y0).astype(int).tolist(),
            "kind": facilities["kind"].astype(str).tolist(),
            "group": facilities["group"].astype(str).tolist(),
            "name": facilities["name"].fillna("").astype(str).tolist(),
        },
    }


def _lines(geometries: np.ndarray, x0: float, y0: float) -> list[list[int]]:
    """Each geometry's vertices as one flat list ``[x0, y0, x1, y1, ...]`` (a multi-part line's parts joined)."""
    coords, index = shapely.get_coordinates(geometries, return_index=True)
    flat = np.round(coords - [x0, y0]).astype(np.int64)
    splits = np.searchsorted(index, np.arange(1, len(geometries)))
    return [part.ravel().tolist() for part in np.split(flat, splits)]


def visible(entry: dict[str, Any], role: Role) -> bool:
    """Whether a journal entry shows in the role's feed: the controller and evaluators see all; a player sees
    clock changes, what it sent, commands of other desks, and messages to it or to everyone."""
    if role.sees_everything or entry["type"] in ("clock", "end") or entry["role"] == role.name:
        return True
    payload = entry["payload"]
    if payload.get("command") == "message":
        return payload.get("to") in (None, "all", role.name)
    return entry["type"] == "command"


class ClientView:
    """What one page has been sent; :meth:`update` returns what changed since (or everything, the first time)."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self._closed: np.ndarray | None = None
        self._down: np.ndarray | None = None
        self._crews: tuple[CrewRow, ...] = ()
        self._shelters: tuple[ShelterRow, ...] = ()
        self._rows = 0
        self._log = 0
        self._entries = 0
        self._clock: dict[str, Any] = {}

    def update(self, session: DrillSession) -> dict[str, Any] | None:
        """The delta for this page (None when nothing changed), from the session's published view."""
        view, recorder = session.view, session.model.recorder
        assert view is not None  # published when the session is built
        delta: dict[str, Any] = {}
        clock = clock_document(session)
        if clock != self._clock:
            delta["clock"] = self._clock = clock
        closed = view.closed_event | view.closed_flood | view.closed_debris
        if self._closed is None or not np.array_equal(closed, self._closed):
            delta["closed"] = _ids(closed)
            delta["closed_by"] = {
                "event": _ids(view.closed_event),
                "flood": _ids(view.closed_flood),
                "debris": _ids(view.closed_debris),
            }
            self._closed = closed
        if self._down is None or not np.array_equal(view.down, self._down):
            delta["down"] = _ids(view.down)
            self._down = view.down
        crews = _changed(self._crews, view.crews)
        if crews:
            delta["crews"] = crews
            self._crews = view.crews
        shelters = _changed(self._shelters, view.shelters)
        if shelters:
            delta["shelters"] = shelters
            delta["shelter_names"] = {k: view.shelter_names[int(k)] for k in shelters}
            self._shelters = view.shelters
        if view.rows > self._rows:
            delta["series"] = [_finite(row) for row in recorder.rows[self._rows : view.rows]]
            self._rows = view.rows
        if view.events > self._log:
            events = recorder.events[self._log : view.events]
            delta["log"] = [_log_line(e) for e in events if not _journaled_message(e)]
            self._log = view.events
        entries = session.entries
        if len(entries) > self._entries:
            delta["journal"] = [e for e in entries[self._entries :] if visible(e, self.role)]
            self._entries = len(entries)
        return delta or None


def _changed(before: tuple[tuple[Any, ...], ...], now: tuple[tuple[Any, ...], ...]) -> dict[str, list[Any]]:
    """The rows of a layer that are new or differ from what the page has, by their index (as JSON keys)."""
    return {str(i): list(row) for i, row in enumerate(now) if i >= len(before) or before[i] != row}


def clock_document(session: DrillSession) -> dict[str, Any]:
    """The clock as the page shows it (times rounded to the millisecond)."""
    reading = session.clock.reading()
    return {
        "sim_s": round(reading.sim_s, 3),
        "engine_s": session.view.clock_s if session.view is not None else session.model.clock_s,
        "speed": reading.speed,
        "set_speed": session.clock.speed,
        "paused": reading.paused,
        "end_s": reading.end_s,
        "behind_s": round(session.behind_s(), 1),
        "ended": session.ended,
        "start": session.model.spec.start.isoformat() if session.model.spec.start else None,
    }


def _ids(mask: np.ndarray) -> list[int]:
    return np.flatnonzero(mask).tolist()


def _finite(row: dict[str, float]) -> dict[str, float | None]:
    return {k: (float(v) if math.isfinite(float(v)) else None) for k, v in row.items()}


def _journaled_message(event: tuple[Any, ...]) -> bool:
    """A drill's own messages show in the feed from the journal (addressed to their desk), not from the log."""
    return event[1] == "message" and event[3] in ("inject", "command")


def _log_line(event: tuple[Any, ...]) -> dict[str, Any]:
    t_s, kind, target, cause, details = event
    return {"t_s": t_s, "kind": kind, "target": target, "cause": cause, "details": json.loads(details)}
