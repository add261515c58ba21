"""The per-vehicle path's shortcuts give exactly the long way's answer: the route draw where the kept trees agree,
and the departure windows that hold trips bound for links that cannot take one in the sub-step, or beyond what
a link's entry server can take, without timing them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_traffic import grid
from twin.sim.traffic import RouteChoice, TrafficNetwork, TrafficOptions, TrafficSim
from twin.traffic import routing
from twin.traffic.sim import TrafficSim as Sim


def drawn_by_hand(
    routes: RouteChoice,
    dest: np.ndarray,
    node: np.ndarray,
    came_from: np.ndarray | None,
    closed: np.ndarray,
    uniforms: np.ndarray,
    has_room: np.ndarray | None,
) -> list[int]:
    """The documented rule, one vehicle at a time: tree ``j`` weighs ``w_j`` if its link exists, is open and is
    not the U-turn (and, if any such link has room, only those with room); the tree drawn is the first whose
    running weight exceeds ``u x total``; with no weight left, the newest tree's link."""
    weights = routes.tree_weights()
    chosen = []
    for i in range(dest.size):
        links = [int(routes.trees[j, dest[i], node[i]]) for j in range(routes.n_trees)]
        usable = [
            link >= 0 and not closed[link] and (came_from is None or link != routes.reverse[came_from[i]])
            for link in links
        ]
        w = [weights[j] * usable[j] for j in range(len(links))]
        if has_room is not None:
            free = [w[j] * has_room[links[j]] for j in range(len(links))]
            w = free if sum(free) > 0 else w
        running, total = [], 0.0
        for value in w:
            total += value
            running.append(total)
        draw = uniforms[i] * total
        tree = min(sum(r <= draw for r in running), routes.n_trees - 1)
        chosen.append(links[tree] if total > 0 else links[0])
    return chosen


def noisy_routes(network: TrafficNetwork, rng: np.random.Generator) -> RouteChoice:
    """Route choice toward every node after six refreshes on random link times: the trees agree at most nodes
    and differ at some."""
    routes = RouteChoice(network, np.arange(network.n_nodes), memory=0.5, noise=0.3)
    closed = np.zeros(network.n_links, dtype=bool)
    for _ in range(6):
        routes.refresh(network.free_flow_time_s() * rng.uniform(0.8, 1.25, network.n_links), closed, rng)
    assert routes.newest.shape == (network.n_nodes, network.n_nodes)  # searched now
    return routes


@pytest.mark.parametrize("room", [False, True])
def test_a_draw_gives_the_hand_drawn_link_where_the_trees_agree_and_where_they_differ(room: bool) -> None:
    rng = np.random.default_rng(3)
    network = grid(6, rng)
    routes = noisy_routes(network, rng)
    n = 3000
    dest, node = rng.integers(0, network.n_nodes, n), rng.integers(0, network.n_nodes, n)
    came_from = rng.integers(0, network.n_links, n)
    closed = rng.random(network.n_links) < 0.1
    has_room = rng.random(network.n_links) < 0.5 if room else None
    agree = (routes.trees[:6, dest, node] == routes.trees[0, dest, node]).all(axis=0)
    assert 0.05 < agree.mean() < 0.95  # both cases are drawn
    draws = np.random.default_rng(9)
    chosen = routes.choose(dest, node, came_from, closed, draws, has_room)
    uniforms = np.random.default_rng(9).random(n)
    assert chosen.tolist() == drawn_by_hand(routes, dest, node, came_from, closed, uniforms, has_room)
    assert draws.random() == np.random.default_rng(9).random(n + 1)[-1]  # one draw per vehicle, as before


def test_the_agreement_follows_new_trees_new_destinations_and_a_restore() -> None:
    rng = np.random.default_rng(4)
    network = grid(5, rng)
    routes = RouteChoice(network, np.array([0, 7]), memory=0.5, noise=0.3)
    closed = np.zeros(network.n_links, dtype=bool)
    n = 500
    node = rng.integers(0, network.n_nodes, n)

    def check(rows: np.ndarray) -> None:
        dest = rng.choice(rows, n)
        seed = int(rng.integers(1 << 30))
        chosen = routes.choose(dest, node, None, closed, np.random.default_rng(seed))
        uniforms = np.random.default_rng(seed).random(n)
        assert chosen.tolist() == drawn_by_hand(routes, dest, node, None, closed, uniforms, None)

    for _ in range(3):
        routes.refresh(network.free_flow_time_s() * rng.uniform(0.5, 2.0, network.n_links), closed, rng)
        check(np.array([0, 1]))
    rows = routes.rows_for(np.array([12, 24]), np.array([True, False]))  # row 1 reused, row 2 added
    assert rows.tolist() == [1, 2]
    routes.route_stale(network.free_flow_time_s(), closed, rng)
    check(np.array([0, 1, 2]))
    restored = RouteChoice(network, np.array([0]), memory=0.5, noise=0.3)
    restored.load_arrays(routes.arrays())
    routes = restored
    check(np.array([0, 1, 2]))


def long_origin_queues(network: TrafficNetwork, rng: np.random.Generator) -> pd.DataFrame:
    """2,000 trips from five nodes to random nodes within five minutes: origins whose first links fill up while
    others still take trips."""
    n = 2000
    return pd.DataFrame(
        {
            "origin": rng.choice(rng.integers(0, network.n_nodes, 5), n),
            "destination": rng.integers(0, network.n_nodes, n),
            "departure_s": rng.uniform(0, 300.0, n),
        }
    )


def test_holding_trips_for_full_links_in_the_departure_windows_changes_no_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same run with the departure windows told no link is full and every trip servable (so every trip read
    is looked at and timed)."""
    rng = np.random.default_rng(5)
    network = grid(6, rng)
    demand = long_origin_queues(network, rng)
    options = TrafficOptions(reroute_every_s=120.0, route_noise=0.2)
    shortcut = TrafficSim(network, demand, options, seed=2)
    look, servable = Sim._origin_look, Sim._origin_servable
    skipped = []

    def counted_look(self: Sim, queue: np.ndarray, full: np.ndarray, t: float) -> np.ndarray:
        looked = look(self, queue, full, t)
        skipped.append(int((~looked).sum()))
        return looked

    def counted_servable(self: Sim, links: np.ndarray, dt: float) -> np.ndarray:
        timed = servable(self, links, dt)
        skipped.append(int((~timed).sum()))
        return timed

    monkeypatch.setattr(Sim, "_origin_look", counted_look)
    monkeypatch.setattr(Sim, "_origin_servable", counted_servable)
    shortcut.run(900.0)
    assert sum(skipped) > 100  # trips held without a look, or without being timed
    monkeypatch.setattr(Sim, "_origin_links_full", lambda self, links, t, t_end: np.zeros(links.size, dtype=bool))
    monkeypatch.setattr(Sim, "_origin_servable", lambda self, links, dt: np.ones(links.size, dtype=bool))
    long_way = TrafficSim(network, demand, options, seed=2)
    long_way.run(900.0)
    pd.testing.assert_frame_equal(shortcut.trips(), long_way.trips())
    np.testing.assert_array_equal(shortcut.state.entry_free_s, long_way.state.entry_free_s)
    assert shortcut.rng.random() == long_way.rng.random()


def test_trees_that_differ_are_the_only_ones_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where every kept tree gives the same link, the link is taken without weighing the trees."""
    rng = np.random.default_rng(6)
    network = grid(5, rng)
    routes = noisy_routes(network, rng)
    weighed: list[int] = []
    draw = routing.RouteChoice._draw

    def counted(self: RouteChoice, dest: np.ndarray, *rest: object) -> np.ndarray:
        weighed.append(dest.size)
        return draw(self, dest, *rest)

    monkeypatch.setattr(routing.RouteChoice, "_draw", counted)
    dest = np.repeat(np.arange(network.n_nodes), network.n_nodes)
    node = np.tile(np.arange(network.n_nodes), network.n_nodes)
    routes.choose(dest, node, None, np.zeros(network.n_links, dtype=bool), rng)
    differ = ~(routes.trees[: routes.n_trees, dest, node] == routes.trees[0, dest, node]).all(axis=0)
    assert weighed == [int(differ.sum())]
