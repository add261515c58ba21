"""Lifeline networks of a City: power zones and grid, water pressure zones, cell sites, signals, hospitals.

Built with the City and cached with it; every rule is an assumption stated in the City's assumptions.

* **Power.** Feeder zones are the network Voronoi cells of the substations over the drivable road graph
  (Okabe et al. 2008, "Generalized network Voronoi diagrams"): every road node, and so every home and component,
  belongs to the substation nearest by road (transformers stand in where a map has no substation). A substation is
  *fed* while the OSM line graph (:func:`twin.lifelines.powergrid.power_grid`) links it to a supply: a power
  plant, or a line ending within 200 m of the extract's edge or beyond it (an import). A substation the OSM lines
  do not reach is taken as fed. Lines and towers are edges and nodes of that graph, so debris on a
  line can cut a substation off.
* **Water.** Pressure zones are elevation bands of ``zone_band_m`` over the homes' road nodes (gravity zones: a
  tank at the top feeds the band below it; a pump at the bottom lifts water to the tank). Each band takes an OSM
  pump (pumping station, water works) and tank (water tower, covered reservoir, water storage tank) lying in it
  where the map has them; otherwise they are synthesised, labelled assumed: the pump at the band's lowest home and
  the tank at its highest among the homes standing at least ``site_min_hand_m`` above the nearest drainage (HAND;
  below 5 m is flood-prone land, Rennó et al. 2008, Nobre et al. 2011), among all its homes where it has none.
* **Telecom.** Cell sites are OSM masts and communication towers, else one per occupied square of a
  ``grid_spacing_m`` grid over the homes, standing at the home nearest the square's residents' centroid (assumed);
  a home is covered by every site within ``radius_m``.
* **Traffic signals.** OSM ``highway=traffic_signals`` nodes, else junctions where trunk, primary or secondary
  roads lead three or more ways (assumed); they need power.
* **Hospitals.** Need power (grid, or a generator for ``hospital_generator_hours``) and water (their zone's, or
  their own storage for ``hospital_water_hours``).
* **Dependencies** are a table (component, needs, backup hours), so a user can add their own rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import shapely
from scipy.spatial import cKDTree

from twin.city.config import LifelinesSpec
from twin.city.roads import Network

POWER_SOURCE_KINDS = ("substation",)
WATER_PUMP_KINDS = ("pumping_station", "water_works")
WATER_TANK_KINDS = ("water_tower", "reservoir_covered", "storage_tank")
SITE_KINDS = ("mast", "communications_tower")
SIGNAL_ROADS = ("trunk", "primary", "secondary")
# Edge of the OSM extract: a line vertex this close to it is where power enters the map.
IMPORT_EDGE_M = 200.0


@dataclass(frozen=True)
class LifelineNetworks:
    """The lifeline networks as arrays over the City's facilities table (rows = component ids).

    Attributes
    ----------
    power_sources
        Facility rows of the substations (or transformers) that define the power zones; zone i is source i.
    node_power_zone
        Per drivable road node: its power zone (-1: no power network on this map).
    grid_edges, grid_edge_comp
        Edges (u, v) of the power line graph and the facility row of the line each belongs to.
    grid_node_comp
        (node, facility row) pairs of the components that sit on graph nodes (towers, substations, plants).
    grid_supply_nodes
        Graph nodes that supply power (plants, lines leaving the map).
    source_grid_node
        Per power source: its graph node, -1 when the OSM lines do not reach it (it is then taken as fed).
    water_pump, water_tank
        Per water zone: the facility rows of its pump and tank.
    water_band_low_m
        Per water zone: the lower elevation of its band.
    node_water_zone
        Per drivable road node: its water zone.
    site_rows
        Facility rows of the cell sites.
    cover_home, cover_site
        (home row, site index) pairs: the sites within range of each home.
    signal_rows, signal_node
        Facility rows of the traffic signals and their drivable node.
    feeds_comp, feeds_zone
        (component, power zone) pairs: the zones whose only supply path runs through that line or tower.
    dependencies
        Table: ``comp`` (facility row), ``needs`` (power or water), ``backup_hours``.
    """

    power_sources: np.ndarray
    node_power_zone: np.ndarray
    grid_edges: np.ndarray
    grid_edge_comp: np.ndarray
    grid_node_comp: np.ndarray
    grid_supply_nodes: np.ndarray
    source_grid_node: np.ndarray
    water_pump: np.ndarray
    water_tank: np.ndarray
    water_band_low_m: np.ndarray
    node_water_zone: np.ndarray
    site_rows: np.ndarray
    cover_home: np.ndarray
    cover_site: np.ndarray
    signal_rows: np.ndarray
    signal_node: np.ndarray
    feeds_comp: np.ndarray
    feeds_zone: np.ndarray
    dependencies: pd.DataFrame

    @classmethod
    def array_names(cls) -> tuple[str, ...]:
        """Names of the array fields (for the cache)."""
        return tuple(f.name for f in fields(cls) if f.name != "dependencies")


def synthesised_rows(
    facilities: pd.DataFrame,
    homes: pd.DataFrame,
    drive: Network,
    spec: LifelinesSpec,
    home_hand_m: np.ndarray | None = None,
) -> pd.DataFrame:
    """Components the map lacks, laid out by the rules above: water pumps and tanks, cell sites, signals.

    ``home_hand_m`` is each home's height above the nearest drainage (m, NaN where unknown); without it every
    home counts as high enough for a pump. Returns rows in the facilities table's columns, ``assumed`` True
    and ``source`` saying which rule.
    """
    hand = np.full(len(homes), np.inf) if home_hand_m is None else np.asarray(home_hand_m, dtype=np.float64)
    rows = [
        _water_rows(facilities, homes, drive, spec, hand),
        _site_rows(facilities, homes, spec),
        _signal_rows(facilities, drive),
    ]
    frames = [r for r in rows if len(r)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=facilities.columns)


def _component(kind: str, group: str, name: str, x: float, y: float, source: str) -> dict[str, object]:
    return {
        "kind": kind,
        "group": group,
        "osm_type": "synthetic",
        "osm_id": 0,
        "name": name,
        "x": x,
        "y": y,
        "beds": np.nan,
        "capacity": np.nan,
        "source": source,
        "assumed": True,
        "geometry": shapely.to_wkb(shapely.Point(x, y)),
    }


def _bands(elevation: np.ndarray, band_m: float, low: float) -> np.ndarray:
    return np.floor((elevation - low) / band_m).astype(np.int64)


def sited_home(
    members: np.ndarray, home_z: np.ndarray, home_hand_m: np.ndarray, min_hand_m: float, lowest: bool
) -> int:
    r"""Where a band's synthesised pump (``lowest``) or tank stands: its lowest (highest) home out of flood-prone land.

    Rule: a pump lifts water from the foot of its pressure zone to a tank at the top, which feeds the zone by
    gravity (AWWA Manual M32, Computer Modeling of Water Distribution Systems), and both are sited out of the
    flood plain (Recommended Standards for Water Works, "Ten States Standards", 2018, 6.1.1: pumping stations
    protected from the 100-year flood). Without a flood map, flood-prone land is taken as HAND < ``min_hand_m``
    (Rennó et al. 2008; Nobre et al. 2011: HAND below about 5 m is the waterlogged, flood-prone class):

    .. math:: p = \arg\min_{h \in B,\ \mathrm{HAND}(h) \ge H_{min}} z(h)
              \quad (\arg\max \text{ for a tank}), \qquad \text{else over all } h \in B

    Parameters
    ----------
    members
        Rows of the band's homes.
    home_z, home_hand_m
        Elevation and HAND of every home (m); NaN HAND counts as flood-prone.
    min_hand_m
        The HAND threshold (city.yaml ``lifelines.water.site_min_hand_m``).
    lowest
        True for a pump (lowest home), False for a tank (highest home).

    Returns
    -------
    int
        The home row.
    """
    safe = members[np.nan_to_num(home_hand_m[members], nan=-np.inf) >= min_hand_m]
    pool = safe if len(safe) else members
    z = home_z[pool]
    return int(pool[np.argmin(z) if lowest else np.argmax(z)])


def _water_rows(
    facilities: pd.DataFrame, homes: pd.DataFrame, drive: Network, spec: LifelinesSpec, home_hand_m: np.ndarray
) -> pd.DataFrame:
    """A synthesised pump and tank (:func:`sited_home`) for each band that OSM leaves without."""
    node_z = drive.nodes["elevation_m"].to_numpy(float)
    home_z = node_z[homes["drive_node"].to_numpy()]
    low = float(home_z.min())
    band = _bands(home_z, spec.water.zone_band_m, low)
    comp_band = _bands(node_z[facilities["drive_node"].to_numpy()], spec.water.zone_band_m, low)
    has_pump = set(comp_band[facilities["kind"].isin(WATER_PUMP_KINDS).to_numpy()].tolist())
    has_tank = set(comp_band[facilities["kind"].isin(WATER_TANK_KINDS).to_numpy()].tolist())
    x, y = homes["x"].to_numpy(float), homes["y"].to_numpy(float)
    made = []
    for b in np.unique(band).tolist():
        members = np.flatnonzero(band == b)
        bottom = sited_home(members, home_z, home_hand_m, spec.water.site_min_hand_m, lowest=True)
        top = sited_home(members, home_z, home_hand_m, spec.water.site_min_hand_m, lowest=False)
        label = f"water zone {b + 1} ({low + b * spec.water.zone_band_m:.0f} m+)"
        if b not in has_pump:
            made.append(
                _component(
                    "pumping_station",
                    "water",
                    f"pump, {label}",
                    x[bottom],
                    y[bottom],
                    f"city.yaml lifelines.water (synthesised: the band's lowest home at least "
                    f"{spec.water.site_min_hand_m:g} m above the nearest drainage, where it has one)",
                )
            )
        if b not in has_tank:
            made.append(
                _component(
                    "storage_tank",
                    "water",
                    f"tank, {label}",
                    x[top],
                    y[top],
                    f"city.yaml lifelines.water (synthesised: the band's highest home at least "
                    f"{spec.water.site_min_hand_m:g} m above the nearest drainage, where it has one)",
                )
            )
    return pd.DataFrame(made)


def _site_rows(facilities: pd.DataFrame, homes: pd.DataFrame, spec: LifelinesSpec) -> pd.DataFrame:
    """Cell sites where OSM maps no mast or tower: one per occupied square of a ``grid_spacing_m`` grid, at a home.

    Each home belongs to the square of its nearest grid point; a square with homes gets one site, at the home
    nearest the residents' centroid of the square (a site serves people, so it stands where they live: on
    land, inside the DEM and on the road network, never on a grid point out at sea or past the town's edge).
    Every home is then within the square's diagonal, ``grid_spacing_m * sqrt(2)``, of its site; ``twin map
    check`` lists the residents a ``radius_m`` shorter than that leaves without a site in range.
    """
    if facilities["kind"].isin(SITE_KINDS).any() or homes.empty:
        return pd.DataFrame()
    spacing = spec.telecom.grid_spacing_m
    x, y = homes["x"].to_numpy(float), homes["y"].to_numpy(float)
    people = np.maximum(homes["population"].to_numpy(float), 0.0) + 1e-9  # a square of empty homes still counts
    col = np.round((x - x.min()) / spacing).astype(np.int64)
    row = np.round((y - y.min()) / spacing).astype(np.int64)
    squares, square = np.unique(row * (col.max() + 1) + col, return_inverse=True)  # sorted: south-west first
    weight = np.bincount(square, people, len(squares))
    cx = np.bincount(square, people * x, len(squares)) / weight
    cy = np.bincount(square, people * y, len(squares)) / weight
    # The home nearest each centroid among the square's own homes (ties: the first home in the table).
    gap = np.hypot(x - cx[square], y - cy[square])
    order = np.lexsort((np.arange(len(x)), gap, square))
    site_home = order[np.flatnonzero(np.r_[True, square[order][1:] != square[order][:-1]])]
    return pd.DataFrame(
        [
            _component(
                "mast",
                "telecom",
                f"cell site {i + 1}",
                x[h],
                y[h],
                f"city.yaml lifelines.telecom (synthesised: one per {spacing:.0f} m grid square with homes, at a home)",
            )
            for i, h in enumerate(site_home)
        ]
    )


def _signal_rows(facilities: pd.DataFrame, drive: Network) -> pd.DataFrame:
    """Signals where major roads meet, where OSM maps none: nodes whose trunk, primary or secondary links (and
    their ``_link`` ramps) lead to three or more distinct neighbours.

    A major road running on through a node has two major neighbours, however many side streets join it there
    (before, every side street off a main road counted as a crossing); a T or a cross of major roads has three
    or four. A one-way ramp merging into or leaving a one-way carriageway (three major neighbours, all links
    one-way) is not a junction. Roundabouts on major roads qualify (OSM's ``junction`` tag is not read): this
    is a screening rule, and a map's own ``highway=traffic_signals`` replace it entirely.
    """
    if (facilities["kind"] == "traffic_signals").any():
        return pd.DataFrame()
    links = drive.links
    major = links["highway"].str.removesuffix("_link").isin(SIGNAL_ROADS).to_numpy()
    src, dst = links["src"].to_numpy()[major], links["dst"].to_numpy()[major]
    pairs = np.unique(np.column_stack([np.r_[src, dst], np.r_[dst, src]]), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]  # a loop is no approach
    neighbours = np.bincount(pairs[:, 0], minlength=drive.n_nodes)
    # A ramp merging into or leaving a carriageway (three one-way major links, no way back) is no junction.
    one_way = links["oneway"].to_numpy(bool)[major]
    two_way_ends = np.bincount(np.r_[src[~one_way], dst[~one_way]], minlength=drive.n_nodes)
    merge = (neighbours == 3) & (two_way_ends == 0)
    nodes = np.flatnonzero((neighbours >= 3) & ~merge)
    xy = drive.nodes[["x", "y"]].to_numpy(float)[nodes]
    return pd.DataFrame(
        [
            _component(
                "traffic_signals",
                "traffic",
                f"junction signal {i + 1}",
                px,
                py,
                "assumed: a junction of major roads (OSM maps no signals)",
            )
            for i, (px, py) in enumerate(xy)
        ]
    )


def build_lifelines(
    facilities: pd.DataFrame,
    homes: pd.DataFrame,
    drive: Network,
    spec: LifelinesSpec,
    bounds_xy: tuple[float, float, float, float],
) -> LifelineNetworks:
    """Lay out every lifeline network over the (already extended) facilities table."""
    node_z = drive.nodes["elevation_m"].to_numpy(float)
    kinds = facilities["kind"].to_numpy(str)
    sources = np.flatnonzero(np.isin(kinds, POWER_SOURCE_KINDS))
    if not len(sources):
        sources = np.flatnonzero(kinds == "transformer")
    node_zone = _network_voronoi(drive, facilities["drive_node"].to_numpy()[sources])
    grid = _grid_arrays(facilities, sources, bounds_xy)
    home_z = node_z[homes["drive_node"].to_numpy()]
    low = float(home_z.min())
    band_m = spec.water.zone_band_m
    comp_band = _bands(node_z[facilities["drive_node"].to_numpy()], band_m, low)
    node_band = np.clip(_bands(node_z, band_m, low), 0, None)
    bands = np.unique(_bands(home_z, band_m, low))
    node_band = np.minimum(node_band, bands.max())
    pumps = np.array(
        [
            _pick(np.flatnonzero(np.isin(kinds, WATER_PUMP_KINDS) & (comp_band == b)), node_z, facilities, lowest=True)
            for b in bands
        ],
        dtype=np.int64,
    )
    tanks = np.array(
        [
            _pick(np.flatnonzero(np.isin(kinds, WATER_TANK_KINDS) & (comp_band == b)), node_z, facilities, lowest=False)
            for b in bands
        ],
        dtype=np.int64,
    )
    zone_of_band = np.full(int(bands.max()) + 1, -1, dtype=np.int64)
    zone_of_band[bands] = np.arange(len(bands))
    node_water = _nearest_band_zone(node_band, zone_of_band)
    sites = np.flatnonzero(np.isin(kinds, SITE_KINDS))
    cover_home, cover_site = _coverage(homes, facilities, sites, spec.telecom.radius_m)
    signals = np.flatnonzero(kinds == "traffic_signals")
    empty = np.zeros(0, dtype=np.int64)
    networks = LifelineNetworks(
        power_sources=sources,
        node_power_zone=node_zone,
        **grid,
        water_pump=pumps,
        water_tank=tanks,
        water_band_low_m=low + bands * band_m,
        node_water_zone=node_water,
        site_rows=sites,
        cover_home=cover_home,
        cover_site=cover_site,
        signal_rows=signals,
        signal_node=facilities["drive_node"].to_numpy()[signals].astype(np.int64),
        feeds_comp=empty,
        feeds_zone=empty,
        dependencies=_dependencies(facilities, pumps, sites, signals, spec),
    )
    feeds_comp, feeds_zone = zones_fed_by(networks, len(facilities))
    return dataclasses.replace(networks, feeds_comp=feeds_comp, feeds_zone=feeds_zone)


def _pick(candidates: np.ndarray, node_z: np.ndarray, facilities: pd.DataFrame, lowest: bool) -> int:
    """The lowest (pumps) or highest (tanks) of a band's candidates; OSM ones before synthesised ones."""
    if not len(candidates):
        return -1
    z = node_z[facilities["drive_node"].to_numpy()[candidates]]
    osm_first = facilities["assumed"].to_numpy(bool)[candidates].astype(float) * 1e6
    key = osm_first + (z if lowest else -z)
    return int(candidates[np.argmin(key)])


def _nearest_band_zone(node_band: np.ndarray, zone_of_band: np.ndarray) -> np.ndarray:
    """Zone of each node's band; nodes in bands without homes take the nearest band below that has a zone."""
    zone = zone_of_band[node_band]
    for b in range(len(zone_of_band)):  # a handful of bands: fill each empty band from the one below
        if zone_of_band[b] < 0:
            zone_of_band[b] = zone_of_band[b - 1] if b > 0 else int(zone_of_band[zone_of_band >= 0][0])
    return np.where(zone >= 0, zone, zone_of_band[node_band])


def _network_voronoi(drive: Network, source_nodes: np.ndarray) -> np.ndarray:
    """Per road node, the index of the nearest source by road length (undirected); -1 without sources."""
    if not len(source_nodes):
        return np.full(drive.n_nodes, -1, dtype=np.int64)
    graph = drive.adjacency(drive.links["length_m"].to_numpy(float))
    _, _, nearest = csgraph.dijkstra(
        graph, directed=False, indices=source_nodes, min_only=True, return_predecessors=True
    )
    index = {int(n): i for i, n in enumerate(source_nodes.tolist())}
    lookup = np.full(drive.n_nodes, -1, dtype=np.int64)
    for node, i in index.items():
        lookup[node] = i
    return np.where(nearest >= 0, lookup[np.maximum(nearest, 0)], -1)


def _grid_arrays(
    facilities: pd.DataFrame, sources: np.ndarray, bounds_xy: tuple[float, float, float, float]
) -> dict[str, np.ndarray]:
    """The OSM power line graph as arrays: edges with their line, components on nodes, supply nodes."""
    from twin.lifelines.powergrid import power_grid  # networkx only when the lifelines are built

    grid = power_grid(facilities)
    edges, owners = [], []
    for comp, spans in grid.edges_of.items():
        for u, v in spans:
            edges.append((u, v))
            owners.append(comp)
    node_comp = np.array(sorted(grid.node_of.items(), key=lambda kv: kv[0]), dtype=np.int64).reshape(-1, 2)[:, ::-1]
    kinds = facilities["kind"].to_numpy(str)
    plants = [grid.node_of[r] for r in np.flatnonzero(kinds == "plant").tolist() if r in grid.node_of]
    xmin, ymin, xmax, ymax = bounds_xy
    supply = set(plants)
    for node in grid.graph.nodes:  # a line that ends at (or beyond) the extract's edge brings power in
        x, y = grid.graph.nodes[node].get("xy", (np.nan, np.nan))
        if grid.graph.degree(node) == 1 and min(x - xmin, xmax - x, y - ymin, ymax - y) <= IMPORT_EDGE_M:
            supply.add(int(node))
    return {
        "grid_edges": np.array(edges, dtype=np.int64).reshape(-1, 2),
        "grid_edge_comp": np.array(owners, dtype=np.int64),
        "grid_node_comp": node_comp,
        "grid_supply_nodes": np.array(sorted(supply), dtype=np.int64),
        "source_grid_node": np.array([grid.node_of.get(int(r), -1) for r in sources], dtype=np.int64),
    }


def _coverage(
    homes: pd.DataFrame, facilities: pd.DataFrame, sites: np.ndarray, radius_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """(home, site index) pairs within the radius (a KD-tree query, no dense distance matrix)."""
    if not len(sites) or homes.empty:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    tree = cKDTree(facilities[["x", "y"]].to_numpy(float)[sites])
    pairs = tree.query_ball_point(homes[["x", "y"]].to_numpy(float), radius_m)
    counts = np.array([len(p) for p in pairs])
    return np.repeat(np.arange(len(homes)), counts).astype(np.int64), np.concatenate(
        [np.asarray(p, dtype=np.int64) for p in pairs] or [np.zeros(0, np.int64)]
    )


def _dependencies(
    facilities: pd.DataFrame, pumps: np.ndarray, sites: np.ndarray, signals: np.ndarray, spec: LifelinesSpec
) -> pd.DataFrame:
    """Who needs what, with backup hours: pumps, sites, signals and hospitals need power (hospitals with a
    generator); hospitals need water (with their own storage)."""
    hospitals = np.flatnonzero(facilities["kind"].to_numpy(str) == "hospital")
    rows = [
        *[(int(c), "power", 0.0) for c in pumps if c >= 0],
        *[(int(c), "power", spec.telecom.battery_hours) for c in sites],
        *[(int(c), "power", 0.0) for c in signals],
        *[(int(c), "power", spec.hospital_generator_hours) for c in hospitals],
        *[(int(c), "water", spec.hospital_water_hours) for c in hospitals],
    ]
    return pd.DataFrame(rows, columns=["comp", "needs", "backup_hours"]).astype(
        {"comp": "int64", "needs": "str", "backup_hours": "float64"}
    )


def fed_sources(net: LifelineNetworks, damaged: np.ndarray) -> np.ndarray:
    """Per power source: linked to a supply through undamaged lines and undamaged tower nodes.

    Parameters
    ----------
    net
        The lifeline networks.
    damaged
        bool per facility row.
    """
    sources = net.source_grid_node
    if not len(sources) or not len(net.grid_edges) or not len(net.grid_supply_nodes):
        return np.zeros(len(sources), dtype=bool)
    size = 1 + int(
        max(net.grid_edges.max(), net.grid_supply_nodes.max(), sources.max(), net.grid_node_comp[:, 0].max(initial=-1))
    )
    dead = np.zeros(size, dtype=bool)
    dead[net.grid_node_comp[damaged[net.grid_node_comp[:, 1]], 0]] = True
    edges = net.grid_edges
    keep = ~damaged[net.grid_edge_comp] & ~dead[edges[:, 0]] & ~dead[edges[:, 1]]
    graph = sp.coo_matrix((np.ones(int(keep.sum())), (edges[keep, 0], edges[keep, 1])), shape=(size, size))
    _, label = csgraph.connected_components(graph, directed=False)
    live = np.zeros(label.max() + 1, dtype=bool)
    live[label[net.grid_supply_nodes[~dead[net.grid_supply_nodes]]]] = True
    node = np.maximum(sources, 0)
    return (sources >= 0) & live[label[node]] & ~dead[node]


def zones_fed_by(net: LifelineNetworks, n_comps: int) -> tuple[np.ndarray, np.ndarray]:
    """(component, zone) pairs: the power zones a line or tower alone keeps supplied (single-failure analysis).

    A zone counts when damaging that one component cuts its substation off from every supply, and the
    substation is supplied when nothing is damaged.
    """
    normal = fed_sources(net, np.zeros(n_comps, dtype=bool))
    on_grid = np.unique(np.concatenate([net.grid_edge_comp, net.grid_node_comp[:, 1]]))
    on_grid = on_grid[~np.isin(on_grid, net.power_sources)]
    comps, zones = [], []
    damaged = np.zeros(n_comps, dtype=bool)
    for comp in on_grid.tolist():  # a few hundred lines and towers, one connected-components pass each
        damaged[comp] = True
        cut = np.flatnonzero(normal & ~fed_sources(net, damaged))
        damaged[comp] = False
        comps.extend([comp] * len(cut))
        zones.extend(cut.tolist())
    return np.array(comps, dtype=np.int64), np.array(zones, dtype=np.int64)
