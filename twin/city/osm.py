"""Read an OSM extract (``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf``) streaming, keeping only what the
build needs.

The extract is read with pyosmium (libosmium's C++ parsers) in two passes, so that memory grows with the
part of the map the City is made of, not with the file:

1. ways and relations: the multipolygons whose tags the build wants (land cover, buildings mapped as
   relations), the ways whose tags it wants (highways, buildings, facilities, waterways, land cover) and the
   relations' member ways, with their node references as int64 arrays;
2. nodes: the coordinates of the nodes those ways reference and of the tagged nodes the build wants, kept
   as sorted int64 ids and float64 lon/lat arrays (the nodes arrive in chunks that are filtered against the
   wanted ids with ``numpy.isin``), and the extract's bounds.

OSM orders a file nodes, ways, relations, so one pass cannot know which nodes a later way will need: that is
the price of the second pass (a fraction of a second on a city's extract; see ``benchmarks/city_build.py``).
"""

from __future__ import annotations

import bz2
import gzip
import math
import xml.etree.ElementTree as ET
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from twin.errors import MapError

Tags = dict[str, str]
Wanted = Callable[[Tags], bool]

#: Nodes gathered before a chunk is filtered against the wanted ids (about 24 MB of arrays).
NODE_CHUNK = 1 << 20
_MEMBER_TYPES = {"n": "node", "w": "way", "r": "relation"}


@dataclass
class OsmWay:
    """One OSM way: its id, node references in order (int64), and tags."""

    id: int
    refs: np.ndarray
    tags: Tags


@dataclass
class OsmRelation:
    """One OSM relation: id, members as (type, ref, role), and tags."""

    id: int
    members: list[tuple[str, int, str]]
    tags: Tags


@dataclass
class OsmData:
    """What the build keeps from an OSM extract.

    Attributes
    ----------
    node_ids
        Sorted ids of the kept nodes: those the kept ways reference and the wanted tagged nodes.
    lon, lat
        Their WGS84 coordinates (degrees), aligned with ``node_ids``.
    node_tags
        Node id -> tags, for the wanted tagged nodes, in file order.
    ways, relations
        The wanted ways (and the member ways of wanted relations) and the wanted multipolygon relations,
        in file order.
    bounds
        (min_lon, min_lat, max_lon, max_lat) from the file's header (``<bounds>``), else from every node
        of the file.
    """

    node_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    lon: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    node_tags: dict[int, Tags] = field(default_factory=dict)
    ways: list[OsmWay] = field(default_factory=list)
    relations: list[OsmRelation] = field(default_factory=list)
    bounds: tuple[float, float, float, float] | None = None

    def index(self, refs: np.ndarray) -> np.ndarray:
        """Position of each node id in ``node_ids``, -1 where the node is not in the extract."""
        refs = np.asarray(refs, dtype=np.int64)
        pos = np.searchsorted(self.node_ids, refs)
        pos = np.minimum(pos, max(len(self.node_ids) - 1, 0))
        found = (self.node_ids[pos] == refs) if len(self.node_ids) else np.zeros(len(refs), dtype=bool)
        return np.where(found, pos, -1)


def open_osm(path: Path) -> IO[bytes]:
    """A binary stream of an OSM XML file, decompressed when it ends in ``.bz2`` or ``.gz``."""
    if path.suffix == ".bz2":
        return bz2.open(path, "rb")
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _unreadable(path: Path, exc: Exception) -> MapError:
    kind = "PBF" if path.suffix == ".pbf" else "XML"
    return MapError(f"{path}: not a readable OSM {kind} file ({exc}); re-export it as OSM XML or PBF")


def read_osm(path: Path, wanted: Wanted, relation_types: tuple[str, ...] = ("multipolygon",)) -> OsmData:
    """Read the parts of an OSM extract whose tags satisfy ``wanted`` (see the module's docstring).

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf``.
    wanted
        Whether the build needs an element with these tags (nodes, ways, and relations).
    relation_types
        The ``type`` tags of the relations read (areas: ``multipolygon``; ``boundary`` too for map init).

    Raises
    ------
    MapError
        When the file is missing, unreadable, or has nodes off the globe (all of them counted).
    """
    import osmium

    if not path.is_file():
        raise MapError(f"{path}: OSM file not found; check the `osm` entry of city.yaml")
    data = OsmData()
    try:
        _read_ways_and_relations(path, wanted, relation_types, data)
        _read_nodes(path, wanted, data)
    except osmium.InvalidLocationError as exc:
        _check_coordinates_xml(path)  # names every bad node; falls through only if it finds none
        raise _unreadable(path, exc) from exc
    except RuntimeError as exc:
        raise _unreadable(path, exc) from exc
    return data


def _read_ways_and_relations(path: Path, wanted: Wanted, types: tuple[str, ...], data: OsmData) -> None:
    """Pass 1: wanted relations of the given types, wanted ways and the member ways of those relations.

    Relations come after the ways, so untagged ways (in OSM, nearly always the members of a multipolygon) are
    held until the relations say which are members. Should a relation name a tagged way the build does not
    want (a fence along a park's edge), the ways are read again in a second pass with the members known.
    """
    import osmium

    members: set[int] = set()
    candidates: list[tuple[OsmWay, bool]] = []
    unwanted = array("q")
    for obj in osmium.FileProcessor(str(path), osmium.osm.WAY | osmium.osm.RELATION):
        tags = dict(obj.tags)
        if isinstance(obj, osmium.osm.Way):
            wanted_way = bool(tags) and wanted(tags)
            if wanted_way or not tags:
                refs = np.fromiter((n.ref for n in obj.nodes), dtype=np.int64, count=len(obj.nodes))
                candidates.append((OsmWay(obj.id, refs, tags), wanted_way))
            else:
                unwanted.append(obj.id)
        elif isinstance(obj, osmium.osm.Relation) and tags.get("type") in types and wanted(tags):
            listed = [(_MEMBER_TYPES.get(m.type, m.type), int(m.ref), m.role) for m in obj.members]
            data.relations.append(OsmRelation(obj.id, listed, tags))
            members.update(ref for kind, ref, _role in listed if kind == "way")
    if members and np.isin(np.fromiter(members, np.int64, len(members)), np.frombuffer(unwanted, np.int64)).any():
        _read_ways(path, wanted, members, data)
        return
    data.ways = [way for way, wanted_way in candidates if wanted_way or way.id in members]


def _read_ways(path: Path, wanted: Wanted, members: set[int], data: OsmData) -> None:
    """Pass 1b, when needed: the wanted ways and every member way, with the members known."""
    import osmium

    for way in cast(Iterable[osmium.osm.Way], osmium.FileProcessor(str(path), osmium.osm.WAY)):
        if not way.tags and way.id not in members:
            continue
        tags = dict(way.tags)
        if way.id in members or wanted(tags):
            refs = np.fromiter((n.ref for n in way.nodes), dtype=np.int64, count=len(way.nodes))
            data.ways.append(OsmWay(way.id, refs, tags))


class _NodeChunks:
    """Gathers nodes in chunks and keeps only the wanted ones, so memory follows the kept network."""

    def __init__(self, needed: np.ndarray) -> None:
        self.needed = needed
        self.ids, self.lon, self.lat = array("q"), array("d"), array("d")
        self.kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.box = [math.inf, math.inf, -math.inf, -math.inf]

    def add(self, node_id: int, lon: float, lat: float) -> None:
        self.ids.append(node_id)
        self.lon.append(lon)
        self.lat.append(lat)
        if len(self.ids) >= NODE_CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.ids:
            return
        ids = np.frombuffer(self.ids, dtype=np.int64).copy()
        lon = np.frombuffer(self.lon, dtype=np.float64).copy()
        lat = np.frombuffer(self.lat, dtype=np.float64).copy()
        box = self.box
        box[:] = [min(box[0], lon.min()), min(box[1], lat.min()), max(box[2], lon.max()), max(box[3], lat.max())]
        keep = np.isin(ids, self.needed, assume_unique=False)
        self.kept.append((ids[keep], lon[keep], lat[keep]))
        self.ids, self.lon, self.lat = array("q"), array("d"), array("d")


def _read_nodes(path: Path, wanted: Wanted, data: OsmData) -> None:
    """Pass 2: coordinates of the nodes the kept ways need and of the wanted tagged nodes; the bounds."""
    import osmium

    refs = [w.refs for w in data.ways]
    processor = osmium.FileProcessor(str(path), osmium.osm.NODE)
    chunks = _NodeChunks(np.unique(np.concatenate(refs)) if refs else np.zeros(0, np.int64))
    tagged: dict[int, tuple[float, float]] = {}
    bad: list[tuple[int, float, float]] = []
    for node in cast(Iterable[osmium.osm.Node], processor):
        location = node.location
        if not location.valid():
            bad.append((node.id, location.lon_without_check(), location.lat_without_check()))
            continue
        lon, lat = location.lon, location.lat
        chunks.add(node.id, lon, lat)
        if node.tags:
            tags = dict(node.tags)
            if wanted(tags):
                data.node_tags[node.id] = tags
                tagged[node.id] = (lon, lat)
    chunks.flush()
    if bad:
        raise _off_the_globe(path, bad)
    _keep_nodes(data, chunks.kept, tagged)
    box = processor.header.box()
    if box.valid():
        data.bounds = (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
    elif math.isfinite(chunks.box[0]):
        data.bounds = (chunks.box[0], chunks.box[1], chunks.box[2], chunks.box[3])


def _keep_nodes(
    data: OsmData, kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]], tagged: dict[int, tuple[float, float]]
) -> None:
    """The kept nodes as sorted arrays (a node both referenced and tagged is kept once)."""
    tag_ids = np.fromiter(tagged.keys(), dtype=np.int64, count=len(tagged))
    tag_ll = np.array(list(tagged.values()), dtype=float).reshape(-1, 2)
    ids = np.concatenate([k[0] for k in kept] + [tag_ids])
    lon = np.concatenate([k[1] for k in kept] + [tag_ll[:, 0]])
    lat = np.concatenate([k[2] for k in kept] + [tag_ll[:, 1]])
    data.node_ids, first = np.unique(ids, return_index=True)
    data.lon, data.lat = lon[first], lat[first]


def _valid(lon: float, lat: float) -> bool:
    return -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0  # False for NaN too


def _off_the_globe(path: Path, bad: list[tuple[int, float, float]]) -> MapError:
    node, lon, lat = bad[0]
    return MapError(
        f"{path}: {len(bad):,} node(s) with coordinates off the globe (e.g. node {node} at lat {lat:g}, "
        f"lon {lon:g}; latitudes lie within -90..90, longitudes -180..180); re-export the extract"
    )


def _check_coordinates_xml(path: Path) -> None:
    """Name every node (or ``<bounds>``) off the globe of an OSM XML file, streaming, keeping only the bad ones.

    libosmium stops at the first coordinate it cannot store (a latitude of 942); this pass, run only then,
    counts them all so that the message says how many there are.
    """
    if path.suffix == ".pbf":
        return
    bad: list[tuple[int, float, float]] = []
    try:
        with open_osm(path) as stream:
            for _event, element in ET.iterparse(stream, events=("end",)):
                _check_element(path, element, bad)
    except (ET.ParseError, OSError, EOFError, ValueError, KeyError):
        return
    if bad:
        raise _off_the_globe(path, bad)


def _check_element(path: Path, element: Any, bad: list[tuple[int, float, float]]) -> None:
    if element.tag == "node":
        lon, lat = float(element.attrib["lon"]), float(element.attrib["lat"])
        if not _valid(lon, lat):
            bad.append((int(element.attrib["id"]), lon, lat))
    elif element.tag == "bounds":
        a = element.attrib
        bounds = (float(a["minlon"]), float(a["minlat"]), float(a["maxlon"]), float(a["maxlat"]))
        if not (_valid(*bounds[:2]) and _valid(*bounds[2:])):
            raise MapError(f"{path}: the <bounds> element lies off the globe ({bounds}); re-export the extract")
    if element.tag in ("node", "way", "relation", "bounds"):
        element.clear()
