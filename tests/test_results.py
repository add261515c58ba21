"""Run folders: atomic writes (twin.atomic) and Results save/load (twin.results)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.transform
import shapely

import twin.atomic as atomic_module
import twin.results as results_module
from twin.atomic import (
    write_bytes_atomic,
    write_geopackage_atomic,
    write_geotiff_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_png_atomic,
    write_text_atomic,
)
from twin.errors import RunError
from twin.results import (
    Results,
    begin_run_folder,
    empty_events_frame,
    events_frame,
    provenance_base,
    read_provenance,
)

# The Results contract of DESIGN.md, restated here (the tests do not read the shared checks).
REQUIRED_FILES = [
    "timeseries.parquet",
    "events.parquet",
    "metrics.json",
    "provenance.json",
    "assumptions.json",
]
SERIES = [
    "t_s",
    "Q_access",
    "links_closed",
    "people_exposed",
    "people_need_rescue",
    "buildings_damaged",
    "components_down",
    "flooded_area_m2",
]
EVENT_COLUMNS = ["t_s", "kind", "target", "cause", "details"]


def contract_problems(run: Path) -> list[str]:
    """The shortfalls of a run folder against the Results contract (empty when it conforms)."""
    problems = [f"missing {f}" for f in REQUIRED_FILES if not (run / f).is_file()]
    if problems:
        return problems
    ts = pd.read_parquet(run / "timeseries.parquet")
    problems += [f"timeseries lacks {c}" for c in SERIES if c not in ts.columns]
    if len(ts) == 0 or ts["t_s"].iloc[0] != 0:
        problems.append("no t = 0 row first")
    elif not ts["t_s"].is_monotonic_increasing:
        problems.append("t_s not increasing")
    for c in (c for c in ts.columns if c.startswith("Q_")):
        if ((ts[c] < 0) | (ts[c] > 1 + 1e-9)).any():
            problems.append(f"{c} leaves [0, 1]")
        if abs(ts[c].iloc[0] - 1) > 1e-9:
            problems.append(f"{c} is not 1 at t = 0")
    ev = pd.read_parquet(run / "events.parquet")
    problems += [f"events lacks {c}" for c in EVENT_COLUMNS if c not in ev.columns]
    prov = json.loads((run / "provenance.json").read_text())
    problems += [f"provenance lacks {k}" for k in ("seed", "status") if k not in prov]
    metrics = json.loads((run / "metrics.json").read_text())
    problems += [f"metrics key {k}" for k in metrics if k.startswith("Q_")]
    return problems


def make_results(zones: bool = True) -> Results:
    t = np.arange(0.0, 601.0, 60.0)
    q = np.where((t > 0) & (t < 400), 0.5, 1.0)
    timeseries = pd.DataFrame(
        {
            "t_s": t,
            "Q_power": q,
            "Q_water": np.nan,
            "Q_telecom": 1.0,
            "Q_health": 1.0,
            "Q_access": q,
            "links_closed": np.arange(t.size, dtype="int64"),
            "people_exposed": np.zeros(t.size, dtype="int64"),
            "people_need_rescue": np.zeros(t.size, dtype="int64"),
            "buildings_damaged": np.zeros(t.size, dtype="int64"),
            "components_down": (q < 1).astype("int64"),
            "flooded_area_m2": t * 10.0,
        }
    )
    events = events_frame(
        [
            (60.0, "fail_component", "substation:3", "scenario", json.dumps({"name": "Encamp"})),
            (420.0, "repair_component", "substation:3", "crew:power-1", "{}"),
        ]
    )
    zone_table = pd.DataFrame(
        {
            "t_s": np.repeat(t, 2),
            "zone": np.tile(["z1", "z2"], t.size),
            "service": "power",
            "q": np.repeat(q, 2),
        }
    )
    return Results(
        timeseries=timeseries,
        events=events,
        zones=zone_table if zones else None,
        metrics={"power": {"resilience_loss_h": 0.05, "time_to_recover_s": None}},
        assumptions={"map": ["population spread by floor area"], "scenario": ["crews work 12 h shifts"]},
        provenance={"seed": 7, "map_hash": "abc123", "command": "twin run x.yaml", **provenance_base()},
        scenario={"name": "substation outage", "dt_s": 60, "until_s": 600},
    )


def leftovers(folder: Path) -> list[str]:
    """Temporary files left behind by an atomic write."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- atomic writes --------------------------------------------------------------------------------


def test_atomic_writers_write_and_replace(tmp_path: Path) -> None:
    write_bytes_atomic(tmp_path / "a.bin", b"\x00\x01")
    write_text_atomic(tmp_path / "a.txt", "old")
    write_text_atomic(tmp_path / "a.txt", "nouveau é")
    write_json_atomic(tmp_path / "a.json", {"b": 1, "a": [1.5, None]})
    write_parquet_atomic(tmp_path / "a.parquet", pd.DataFrame({"x": [1, 2]}))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "nouveau é"
    assert (tmp_path / "a.json").read_text() == '{\n  "a": [\n    1.5,\n    null\n  ],\n  "b": 1\n}\n'
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"), pd.DataFrame({"x": [1, 2]}))
    assert leftovers(tmp_path) == []


def test_atomic_write_keeps_readable_permissions(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").stat().st_mode & 0o044  # not the 0600 of mkstemp


def test_failure_mid_write_leaves_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "t.parquet"
    write_parquet_atomic(target, pd.DataFrame({"x": [1]}))

    def half_write(self: pd.DataFrame, path: Path, **kwargs: Any) -> None:
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_parquet_atomic(target, pd.DataFrame({"x": [2]}))
    monkeypatch.undo()
    pd.testing.assert_frame_equal(pd.read_parquet(target), pd.DataFrame({"x": [1]}))
    assert leftovers(tmp_path) == []


def test_failed_rename_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError("rename refused")

    monkeypatch.setattr("twin.atomic.os.replace", refuse)
    with pytest.raises(OSError):
        write_text_atomic(tmp_path / "a.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_json_with_nan_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "m.json", {"x": math.nan})
    assert list(tmp_path.iterdir()) == []


# --- events ---------------------------------------------------------------------------------------


def test_events_frames_have_contract_columns() -> None:
    empty = empty_events_frame()
    assert list(empty.columns) == EVENT_COLUMNS
    assert empty["t_s"].dtype == "float64"
    assert len(empty) == 0
    events = events_frame([(60, "message", "", "scenario", "{}")])
    assert events["t_s"].dtype == "float64"
    assert events["t_s"].iloc[0] == 60.0
    pd.testing.assert_frame_equal(events.iloc[:0], empty, check_index_type=False)


# --- Results save / load --------------------------------------------------------------------------


def test_round_trip_is_identical(tmp_path: Path) -> None:
    original = make_results()
    original.save(tmp_path / "run")
    loaded = Results.load(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.timeseries, original.timeseries)
    pd.testing.assert_frame_equal(loaded.events, original.events)
    assert loaded.zones is not None and original.zones is not None
    pd.testing.assert_frame_equal(loaded.zones, original.zones)
    assert loaded.metrics == original.metrics
    assert loaded.assumptions == original.assumptions
    assert loaded.scenario == original.scenario
    assert loaded.provenance == {**original.provenance, "status": "complete"}


def test_round_trip_without_zones_and_empty_events(tmp_path: Path) -> None:
    original = make_results(zones=False)
    original.events = empty_events_frame()
    original.save(tmp_path)
    assert not (tmp_path / "zones.parquet").exists()
    loaded = Results.load(tmp_path)
    assert loaded.zones is None
    pd.testing.assert_frame_equal(loaded.events, original.events)


def test_saved_folder_meets_the_contract(tmp_path: Path) -> None:
    make_results().save(tmp_path)
    assert contract_problems(tmp_path) == []
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {
        "timeseries.parquet",
        "events.parquet",
        "zones.parquet",
        "metrics.json",
        "assumptions.json",
        "provenance.json",
        "scenario.json",
        "manifest.json",
    }


def test_manifest_lists_every_file_with_its_kind_and_checksum(tmp_path: Path) -> None:
    make_results().save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format"] == "twin-run-manifest" and manifest["version"] == 1
    listed = {item["name"]: item for item in manifest["files"]}
    assert set(listed) == {p.name for p in tmp_path.iterdir()} - {"manifest.json"}
    for name, item in listed.items():
        data = (tmp_path / name).read_bytes()  # provenance.json too: hashed as it was about to be written
        assert item["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert item["bytes"] == len(data)
    assert listed["timeseries.parquet"]["kind"] == "timeseries"
    assert listed["provenance.json"]["kind"] == "provenance"
    assert listed["metrics.json"]["kind"] == "metrics"


def test_provenance_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []
    real = atomic_module._replace

    def record(tmp: Path, target: Path) -> None:
        status = json.loads(tmp.read_text())["status"] if target.name == "provenance.json" else ""
        written.append(f"{target.name}:{status}" if status else target.name)
        real(tmp, target)

    monkeypatch.setattr(atomic_module, "_replace", record)
    make_results().save(tmp_path)
    tables = ["timeseries.parquet", "events.parquet", "zones.parquet"]
    documents = ["metrics.json", "assumptions.json", "scenario.json"]
    # claimed (incomplete), the tables' own incomplete mark, the files, the manifest, complete last
    assert written == [
        "provenance.json:incomplete",
        "provenance.json:incomplete",
        *tables,
        *documents,
        "manifest.json",
        "provenance.json:complete",
    ]


def test_interrupted_save_stays_incomplete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = results_module.write_json_atomic

    def fail_on_metrics(path: Path, obj: Any) -> None:
        if Path(path).name == "metrics.json":
            raise KeyboardInterrupt  # Ctrl-C after the tables, before the documents
        real(path, obj)

    monkeypatch.setattr(results_module, "write_json_atomic", fail_on_metrics)
    with pytest.raises(KeyboardInterrupt):
        make_results().save(tmp_path)
    assert read_provenance(tmp_path)["status"] == "incomplete"
    assert not (tmp_path / "metrics.json").exists()
    assert leftovers(tmp_path) == []
    # what was written is whole
    assert len(pd.read_parquet(tmp_path / "timeseries.parquet")) == 11


def test_interrupted_parquet_write_leaves_no_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def half_write(self: pd.DataFrame, path: Path, **kwargs: Any) -> None:
        Path(path).write_bytes(b"PAR1 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_write)
    with pytest.raises(KeyboardInterrupt):
        make_results().save(tmp_path)
    monkeypatch.undo()
    assert read_provenance(tmp_path)["status"] == "incomplete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["provenance.json"]


def test_resaving_over_a_complete_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_results().save(tmp_path)

    def boom(path: Path, df: pd.DataFrame) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results_module, "write_parquet_atomic", boom)
    with pytest.raises(RunError, match="No space left"):
        make_results().save(tmp_path, overwrite=True)
    assert read_provenance(tmp_path)["status"] == "incomplete"  # the old "complete" no longer stands


def test_save_partial_results_as_incomplete(tmp_path: Path) -> None:
    make_results().save(tmp_path, status="incomplete")
    with pytest.raises(RunError, match="incomplete run"):
        Results.load(tmp_path)
    assert Results.load(tmp_path, allow_incomplete=True).provenance["status"] == "incomplete"
    with pytest.raises(ValueError, match="status"):
        make_results().save(tmp_path / "other", status="done")


def test_a_folder_that_holds_files_is_refused_unless_overwritten(tmp_path: Path) -> None:
    make_results().save(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match=r"not empty \(it holds assumptions.json, .* and 4 more\).*--overwrite"):
        begin_run_folder(tmp_path, {"seed": 2})
    assert Results.load(tmp_path).provenance["seed"] == 7  # refused before anything was touched
    begin_run_folder(tmp_path, {"seed": 2}, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["provenance.json"]
    assert read_provenance(tmp_path) == {"seed": 2, "status": "incomplete"}


def test_overwrite_never_follows_a_link_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "keep.txt").write_text("precious")
    (outside / "deep" / "keep.txt").write_text("precious")
    run = tmp_path / "run"
    (run / "sub").mkdir(parents=True)
    (run / "link-to-file").symlink_to(outside / "keep.txt")
    (run / "link-to-folder").symlink_to(outside)
    (run / "sub" / "link-inside").symlink_to(outside / "deep")
    make_results().save(run, overwrite=True)
    tables = ["timeseries.parquet", "events.parquet", "zones.parquet"]
    documents = ["metrics.json", "assumptions.json", "scenario.json", "provenance.json", "manifest.json"]
    assert sorted(p.name for p in run.iterdir()) == sorted([*tables, *documents])
    assert (outside / "keep.txt").read_text() == "precious"
    assert (outside / "deep" / "keep.txt").read_text() == "precious"


def test_a_run_folder_that_is_a_link_or_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(RunError, match="is a symbolic link"):
        make_results().save(tmp_path / "link", overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match="is a file"):
        make_results().save(tmp_path / "file", overwrite=True)
    assert list((tmp_path / "real").iterdir()) == []


def test_overwriting_without_zones_leaves_no_stale_zones(tmp_path: Path) -> None:
    make_results().save(tmp_path)
    make_results(zones=False).save(tmp_path, overwrite=True)
    assert not (tmp_path / "zones.parquet").exists()


def test_metrics_json_has_no_nan(tmp_path: Path) -> None:
    results = make_results()
    results.metrics = {"power": {"a": math.nan, "b": np.float64(2.5), "c": np.inf, "d": np.int64(3)}}
    results.save(tmp_path)
    text = (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"power": {"a": None, "b": 2.5, "c": None, "d": 3}}


def test_contract_breaches_raise_before_writing(tmp_path: Path) -> None:
    results = make_results()
    results.metrics = {"Q_power": {}}
    with pytest.raises(ValueError, match="bare service name"):
        results.save(tmp_path / "a")
    results = make_results()
    results.timeseries = results.timeseries[["Q_power", "t_s"]]
    with pytest.raises(ValueError, match="t_s"):
        results.save(tmp_path / "b")
    results = make_results()
    results.scenario = {"x": object()}
    with pytest.raises(ValueError, match=r"scenario\.json"):
        results.save(tmp_path / "c")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_a_run_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RunError, match="cannot write the run folder"):
        begin_run_folder(blocker / "run", {"seed": 1})


def test_load_refuses_an_interrupted_run(tmp_path: Path) -> None:
    begin_run_folder(tmp_path, {"seed": 1})
    with pytest.raises(RunError, match="incomplete run"):
        Results.load(tmp_path)
    with pytest.raises(RunError, match=r"missing timeseries\.parquet"):
        Results.load(tmp_path, allow_incomplete=True)


def test_load_refuses_files_that_differ_from_the_manifest(tmp_path: Path) -> None:
    make_results().save(tmp_path)
    (tmp_path / "events.parquet").unlink()
    (tmp_path / "metrics.json").write_text('{"power": {}}')  # edited after the run
    with pytest.raises(RunError) as info:
        Results.load(tmp_path)
    message = str(info.value)
    assert "do not match the run's manifest" in message
    assert "events.parquet: listed in the manifest but missing" in message
    assert "metrics.json: " in message
    (tmp_path / "notes.txt").write_text("a planner's notes")  # files the run did not write are not checked


def test_load_checks_checksums_not_only_sizes(tmp_path: Path) -> None:
    make_results().save(tmp_path)
    data = bytearray((tmp_path / "scenario.json").read_bytes())
    data[-3] = ord("X") if data[-3] != ord("X") else ord("Y")  # same size, other content
    (tmp_path / "scenario.json").write_bytes(bytes(data))
    with pytest.raises(RunError, match=r"scenario\.json: its checksum differs"):
        Results.load(tmp_path)


def test_load_refuses_a_complete_folder_without_manifest(tmp_path: Path) -> None:
    make_results().save(tmp_path)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(RunError, match=r"says complete but has no manifest\.json"):
        Results.load(tmp_path)
    (tmp_path / "manifest.json").write_text("[1, 2]")
    with pytest.raises(RunError, match="not a twin run manifest"):
        Results.load(tmp_path)
    with pytest.raises(RunError, match="is not a folder"):
        Results.load(tmp_path / "nowhere")


# --- atomic writes of figures, GeoPackages and GeoTIFFs never go through a planted link -------------


def test_geopackages_are_written_without_sqlite_syncs_and_the_option_is_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each layer is written with SQLite's per-commit sync off (atomic_path fsyncs the whole file once), the
    caller's own setting comes back afterwards, also after a failed write, and the layers read back as written."""
    import pyogrio

    seen: list[object] = []
    write = pyogrio.write_dataframe

    def spy(frame: pd.DataFrame, path: Path, **kwargs: object) -> None:
        seen.append(pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS"))
        write(frame, path, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", spy)
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "FULL"})
    try:
        frame = gpd.GeoDataFrame({"x": [1, 2]}, geometry=[shapely.Point(0, 0), shapely.Point(5, 5)], crs="EPSG:32631")
        write_geopackage_atomic(tmp_path / "a.gpkg", [("points", frame, {}), ("table", pd.DataFrame({"y": [2]}), {})])
        assert seen == [False, False]  # pyogrio reads "OFF" back as False
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == "FULL"
        with pytest.raises(ValueError, match="unrecognized option"):
            write_geopackage_atomic(tmp_path / "b.gpkg", [("bad", frame, {"no_such_option": 1})])
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == "FULL"
        assert not (tmp_path / "b.gpkg").exists()
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": None})
    back = gpd.read_file(tmp_path / "a.gpkg", layer="points", engine="pyogrio")
    assert list(back["x"]) == [1, 2] and list(back.geometry.x) == [0.0, 5.0]
    assert list(gpd.read_file(tmp_path / "a.gpkg", layer="table", engine="pyogrio")["y"]) == [2]


def test_figure_layer_and_raster_writers_replace_a_planted_link(tmp_path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    for name in ("a.png", "a.gpkg", "a.tif"):
        (tmp_path / name).symlink_to(victim)
    figure = Figure(figsize=(1, 1))
    FigureCanvasAgg(figure)
    write_png_atomic(tmp_path / "a.png", figure)
    frame = gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.Point(0, 0)], crs="EPSG:32631")
    write_geopackage_atomic(tmp_path / "a.gpkg", [("points", frame, {}), ("table", pd.DataFrame({"y": [2]}), {})])
    transform = rasterio.transform.from_origin(500_000, 4_700_000, 10, 10)
    write_geotiff_atomic(
        tmp_path / "a.tif",
        np.ones((3, 4), dtype=np.float32),
        {"dtype": "float32", "crs": "EPSG:32631", "transform": transform},
        description="ones",
        units="m",
    )
    assert victim.read_text() == "do not touch"
    for name in ("a.png", "a.gpkg", "a.tif"):
        assert not (tmp_path / name).is_symlink()
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(gpd.read_file(tmp_path / "a.gpkg", layer="points", engine="pyogrio")["x"]) == [1]
    with rasterio.open(tmp_path / "a.tif") as raster:
        assert raster.read(1).sum() == 12 and raster.tags(1)["units"] == "m"
    assert leftovers(tmp_path) == []


def test_provenance_base_lists_versions() -> None:
    base = provenance_base()
    assert base["python"] and base["platform"]
    assert set(base["packages"]) == {"twin", "numpy", "scipy", "pandas", "mesa", "osmnx", "networkx"}
    assert base["packages"]["numpy"] == np.__version__
    assert base["packages"]["twin"] is not None
    json.dumps(base, allow_nan=False)
