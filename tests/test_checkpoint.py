"""Checkpoint files: they name their scenario, map, seed and format, refuse anything else, and fail cleanly."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import twin.atomic as atomic_module
from tests.conftest import ROOT, scenario_of
from twin.city.build import City
from twin.errors import RunError
from twin.scenario import Scenario
from twin.sim.checkpoint import CHECKPOINT_VERSION, read_checkpoint, scenario_hash
from twin.sim.model import CityModel

CLOSE_BRIDGES = {"kind": "close_link", "at": "5min", "target": {"bridges_over": "valira"}}


def _scenario(tmp_path: Path, name: str = "s.yaml", **changes: object) -> Scenario:
    data: dict[str, object] = {
        "name": "test",
        "map": str(ROOT / "maps" / "andorra"),
        "timezone": "Europe/Andorra",
        "start": "2025-10-14T06:00",
        "duration": "20min",
        "step": "60s",
        "seed": 3,
        "events": [CLOSE_BRIDGES],
    }
    data.update(changes)
    return scenario_of(tmp_path, data, name)


@pytest.fixture
def saved(andorra_city: City, tmp_path: Path) -> tuple[Path, Scenario]:
    """A checkpoint at 10 min of a 20 min scenario."""
    spec = _scenario(tmp_path)
    model = CityModel(andorra_city, spec)
    model.run(until_s=600)
    model.checkpoint(tmp_path / "c.npz")
    return tmp_path / "c.npz", spec


def _rewrite(path: Path, change_meta: dict[str, object]) -> None:
    """Rewrite a checkpoint with some meta entries changed (as another version of twin would have written it)."""
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = {**json.loads(arrays.pop("meta").tobytes()), **change_meta}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    path.write_bytes(buffer.getvalue())


def test_the_file_names_its_run(saved: tuple[Path, Scenario], andorra_city: City) -> None:
    path, spec = saved
    meta, arrays = read_checkpoint(path)
    assert meta["format"] == "twin-checkpoint" and meta["version"] == CHECKPOINT_VERSION
    assert meta["scenario_hash"] == scenario_hash(spec) and meta["map_hash"] == andorra_city.map_hash
    assert meta["seed"] == 3 and "state__comp_up" in arrays


def test_the_scenario_hash_ignores_where_the_map_is_and_sees_everything_else(tmp_path: Path) -> None:
    spec = _scenario(tmp_path)
    assert scenario_hash(spec) == scenario_hash(spec.model_copy(update={"map": tmp_path}))
    assert scenario_hash(spec) == scenario_hash(_scenario(tmp_path, "again.yaml"))
    assert scenario_hash(spec) != scenario_hash(_scenario(tmp_path, "b.yaml", step="30s"))
    assert scenario_hash(spec) != scenario_hash(_scenario(tmp_path, "c.yaml", seed=4))


@pytest.mark.parametrize(
    "changes",
    [{"duration": "30min"}, {"step": "30s"}, {"events": []}, {"seed": 4}],
    ids=["duration", "step", "events", "scenario seed"],
)
def test_another_scenario_is_refused(
    saved: tuple[Path, Scenario], andorra_city: City, tmp_path: Path, changes: dict[str, object]
) -> None:
    path, _spec = saved
    other = _scenario(tmp_path, "other.yaml", **changes)
    with pytest.raises(RunError, match=r"(?s)does not belong to this run.*another scenario"):
        CityModel.restore(path, andorra_city, other)


def test_another_map_and_seed_are_refused_together(saved: tuple[Path, Scenario], andorra_city: City) -> None:
    path, spec = saved
    elsewhere = replace(andorra_city, map_hash="0123456789abcdef" * 4)
    with pytest.raises(RunError) as info:
        CityModel.restore(path, elsewhere, spec, seed=8)
    message = str(info.value)
    assert "another map (map_hash" in message and "0123456789ab" in message
    assert "made with seed 3, this run's seed is 8 (pass seed=3, or twin run --seed 3" in message


def test_a_checkpoint_of_an_overridden_seed_restores_only_with_that_seed(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path)
    model = CityModel(andorra_city, spec, seed=9)
    model.run(until_s=120)
    model.checkpoint(tmp_path / "nine.npz")
    with pytest.raises(RunError, match="made with seed 9, this run's seed is 3"):
        CityModel.restore(tmp_path / "nine.npz", andorra_city, spec)
    restored = CityModel.restore(tmp_path / "nine.npz", andorra_city, spec, seed=9)
    assert restored.seed_value == 9 and restored.clock_s == 120.0


def test_another_format_version_is_refused(saved: tuple[Path, Scenario], andorra_city: City) -> None:
    path, spec = saved
    _rewrite(path, {"version": 2})
    with pytest.raises(RunError, match=r"format version 2; this version of twin reads version 3"):
        CityModel.restore(path, andorra_city, spec)
    _rewrite(path, {"format": "someone else's", "version": 1})
    with pytest.raises(RunError, match="is not a twin checkpoint"):
        CityModel.restore(path, andorra_city, spec)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flipped(data: bytes) -> bytes:
    middle = bytearray(data)
    for i in range(len(middle) // 3, len(middle) // 3 + 64):
        middle[i] ^= 0xFF
    return bytes(middle)


def _npy(data: bytes) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(5))
    return buffer.getvalue()


def _without_meta(data: bytes) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x=np.arange(3))
    return buffer.getvalue()


def _pickled(data: bytes) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array([{"a": 1}], dtype=object))
    return buffer.getvalue()


def _bad_json(data: bytes) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.frombuffer(b"{not json", dtype=np.uint8))
    return buffer.getvalue()


def _zip_of_text(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("meta.npy", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "damage",
    [lambda d: b"", _truncated, _flipped, _npy, _without_meta, _pickled, _bad_json, _zip_of_text],
    ids=["empty", "truncated", "corrupt", "npy", "no meta", "pickled", "bad json", "zip of text"],
)
def test_a_damaged_file_is_a_clean_error(saved: tuple[Path, Scenario], andorra_city: City, damage: object) -> None:
    path, spec = saved
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(RunError) as info:
        CityModel.restore(path, andorra_city, spec)
    message = str(info.value)
    assert str(path) in message
    assert "damaged" in message or "not a twin checkpoint" in message


def test_a_missing_file_or_a_folder_is_a_clean_error(andorra_city: City, tmp_path: Path) -> None:
    spec = _scenario(tmp_path)
    with pytest.raises(RunError, match=r"nowhere\.npz does not exist; give the \.npz file"):
        CityModel.restore(tmp_path / "nowhere.npz", andorra_city, spec)
    with pytest.raises(RunError, match="is a folder"):
        CityModel.restore(tmp_path, andorra_city, spec)


def test_state_arrays_of_the_wrong_shape_are_refused(saved: tuple[Path, Scenario], andorra_city: City) -> None:
    path, spec = saved
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["state__comp_up"] = arrays["state__comp_up"][:-1]
    del arrays["state__water_peak_m"]
    np.savez_compressed(path, **arrays)
    with pytest.raises(RunError) as info:
        CityModel.restore(path, andorra_city, spec)
    assert "array water_peak_m is missing" in str(info.value) and "array comp_up is bool[" in str(info.value)


def test_checkpoints_are_written_atomically(
    saved: tuple[Path, Scenario], andorra_city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, spec = saved
    before = path.read_bytes()
    model = CityModel.restore(path, andorra_city, spec)
    model.run(until_s=900)

    def killed(tmp: Path, target: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_module, "_replace", killed)
    with pytest.raises(KeyboardInterrupt):
        model.checkpoint(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")) == []
    victim = path.parent / "victim.txt"
    victim.write_text("keep")
    (path.parent / "link.npz").symlink_to(victim)
    model.checkpoint(path.parent / "link.npz")
    assert victim.read_text() == "keep"
    assert CityModel.restore(path.parent / "link.npz", andorra_city, spec).clock_s == 900.0


def test_an_unwritable_place_is_a_clean_error(saved: tuple[Path, Scenario], andorra_city: City) -> None:
    path, spec = saved
    model = CityModel.restore(path, andorra_city, spec)
    with pytest.raises(RunError, match="cannot write the checkpoint"):
        model.checkpoint(path.parent / "no" / "such" / "folder" / "c.npz")
