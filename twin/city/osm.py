"""Read an OSM XML extract (``.osm`` or ``.osm.bz2``) in one streaming pass.

osmnx builds its graph from *every* way of a file (buildings and power lines included) and takes
20-25 s on the Andorra extract, so twin reads the file once itself, keeps what each part of the City
needs (highway ways for the road graph, buildings, facilities, lifelines, waterways), and hands osmnx
only the highway ways to build and simplify the road graph.
"""

from __future__ import annotations

import bz2
import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from twin.errors import MapError

Tags = dict[str, str]


@dataclass
class OsmWay:
    """One OSM way: its id, node references in order, and tags."""

    id: int
    refs: list[int]
    tags: Tags


@dataclass
class OsmRelation:
    """One OSM relation: id, members as (type, ref, role), and tags."""

    id: int
    members: list[tuple[str, int, str]]
    tags: Tags


@dataclass
class OsmData:
    """Everything twin keeps from an OSM extract.

    Attributes
    ----------
    coords
        Node id -> (lon, lat) in WGS84 degrees, for every node of the file.
    node_tags
        Node id -> tags, only for nodes that carry tags.
    ways, relations
        All ways and relations with their tags.
    bounds
        (min_lon, min_lat, max_lon, max_lat) from the file's ``<bounds>``, else from the nodes.
    """

    coords: dict[int, tuple[float, float]] = field(default_factory=dict)
    node_tags: dict[int, Tags] = field(default_factory=dict)
    ways: list[OsmWay] = field(default_factory=list)
    relations: list[OsmRelation] = field(default_factory=list)
    bounds: tuple[float, float, float, float] | None = None


def open_osm(path: Path) -> IO[bytes]:
    """A binary stream of an OSM XML file, decompressed when it ends in ``.bz2`` or ``.gz``."""
    if path.suffix == ".bz2":
        return bz2.open(path, "rb")
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _tags(element: ET.Element) -> Tags:
    return {t.attrib["k"]: t.attrib["v"] for t in element.iter("tag")}


def _elements(path: Path) -> Iterator[ET.Element]:
    with open_osm(path) as stream:
        for _event, element in ET.iterparse(stream, events=("end",)):
            yield element


def read_osm(path: Path) -> OsmData:
    """Read an OSM XML file into :class:`OsmData`.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2`` or ``.osm.gz`` (OSM XML). ``.pbf`` is not supported (osmnx cannot read it
        either): convert with ``osmium cat file.pbf -o file.osm.bz2``.

    Raises
    ------
    MapError
        When the file is missing, is PBF, or is not well-formed OSM XML.
    """
    if not path.is_file():
        raise MapError(f"{path}: OSM file not found; check the `osm` entry of city.yaml")
    if path.suffix == ".pbf":
        raise MapError(
            f"{path}: OSM PBF is not supported; convert it to XML with `osmium cat {path.name} -o "
            f"{path.stem}.osm.bz2` and point `osm` in city.yaml at the new file"
        )
    data = OsmData()
    try:
        for element in _elements(path):
            _take(element, data)
    except (ET.ParseError, OSError, EOFError, ValueError, KeyError) as exc:
        raise MapError(f"{path}: not a readable OSM XML file ({exc}); re-export it as OSM XML") from exc
    _check_coordinates(path, data)
    if data.bounds is None and data.coords:
        lons = [c[0] for c in data.coords.values()]
        lats = [c[1] for c in data.coords.values()]
        data.bounds = (min(lons), min(lats), max(lons), max(lats))
    return data


def _valid(lon: float, lat: float) -> bool:
    return -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0  # False for NaN too


def _check_coordinates(path: Path, data: OsmData) -> None:
    """Refuse nodes or bounds off the globe (a latitude of 942): every later projection would fail on them."""
    bad = [(node, lon, lat) for node, (lon, lat) in data.coords.items() if not _valid(lon, lat)]
    if bad:
        node, lon, lat = bad[0]
        raise MapError(
            f"{path}: {len(bad):,} node(s) with coordinates off the globe (e.g. node {node} at lat {lat:g}, "
            f"lon {lon:g}; latitudes lie within -90..90, longitudes -180..180); re-export the extract"
        )
    if data.bounds is not None and not (_valid(*data.bounds[:2]) and _valid(*data.bounds[2:])):
        raise MapError(f"{path}: the <bounds> element lies off the globe ({data.bounds}); re-export the extract")


def _take(element: ET.Element, data: OsmData) -> None:
    tag = element.tag
    if tag == "node":
        node_id = int(element.attrib["id"])
        data.coords[node_id] = (float(element.attrib["lon"]), float(element.attrib["lat"]))
        tags = _tags(element)
        if tags:
            data.node_tags[node_id] = tags
    elif tag == "way":
        refs = [int(nd.attrib["ref"]) for nd in element.iter("nd")]
        data.ways.append(OsmWay(int(element.attrib["id"]), refs, _tags(element)))
    elif tag == "relation":
        members = [(m.attrib["type"], int(m.attrib["ref"]), m.attrib.get("role", "")) for m in element.iter("member")]
        data.relations.append(OsmRelation(int(element.attrib["id"]), members, _tags(element)))
    elif tag == "bounds":
        a = element.attrib
        data.bounds = (float(a["minlon"]), float(a["minlat"]), float(a["maxlon"]), float(a["maxlat"]))
    else:
        return
    # Free the parsed subtree: the Andorra file has 160k nodes and memory should stay flat.
    element.clear()


def write_highway_xml(data: OsmData, path: Path) -> int:
    """Write only the ``highway`` ways and their nodes as OSM XML, for ``osmnx.graph_from_xml``.

    Returns the number of ways written. Nodes keep their tags (``highway=traffic_signals`` and
    ``crossing`` matter to osmnx's simplification).
    """
    ways = [w for w in data.ways if "highway" in w.tags and all(r in data.coords for r in w.refs)]
    needed = sorted({r for w in ways for r in w.refs})
    root = ET.Element("osm", version="0.6", generator="twin")
    for node_id in needed:
        lon, lat = data.coords[node_id]
        node = ET.SubElement(root, "node", id=str(node_id), lat=repr(lat), lon=repr(lon))
        for k, v in data.node_tags.get(node_id, {}).items():
            ET.SubElement(node, "tag", k=k, v=v)
    for way in ways:
        element = ET.SubElement(root, "way", id=str(way.id))
        for ref in way.refs:
            ET.SubElement(element, "nd", ref=str(ref))
        for k, v in way.tags.items():
            ET.SubElement(element, "tag", k=k, v=v)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return len(ways)
